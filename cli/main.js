#!/usr/bin/env node
// `maint` (package.json `bin`, `npm run maint`): cli/maint.ts, compiled when the build is current.
"use strict";
require("../entry/compiledEntry").load("cli/maint").runAsProcess();
