// Lua scripts are imported as text: esbuild's text loader in bundles, test/lua-transform.cjs in jest.
declare module '*.lua' {
  const source: string;
  export default source;
}

// The live sale page's files are imported as text the same way (functions/sale-page.ts).
declare module '*.html' {
  const source: string;
  export default source;
}
declare module '*.css' {
  const source: string;
  export default source;
}
declare module '*.page-script.js' {
  const source: string;
  export default source;
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const source: string;
  export default source;
}
