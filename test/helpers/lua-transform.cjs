// Jest transform: a text import (`.lua`, the sale page's files) is the file's text, as esbuild's text loader makes it in bundles.
module.exports = {
  process(source) {
    return { code: `module.exports = { __esModule: true, default: ${JSON.stringify(source)} };` };
  },
};
