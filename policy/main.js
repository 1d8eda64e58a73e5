// The policy pack's entry (package.json `main`): index.ts, compiled when the build is current.
module.exports = require("../entry/compiledEntry").load("policy/index");
