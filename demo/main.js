#!/usr/bin/env node
// `npm run demo`: demo/demo.ts, compiled when the build is current (it runs when loaded).
"use strict";
require("../entry/compiledEntry").load("demo/demo");
