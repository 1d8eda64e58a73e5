// The program's entry (Pulumi.yaml `main`): index.ts, compiled when the build is current.
module.exports = require("./entry/compiledEntry").load("index");
