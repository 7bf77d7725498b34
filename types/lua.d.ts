// Lua scripts are imported as text: esbuild's text loader in bundles, test/lua-transform.cjs in jest.
declare module '*.lua' {
  const source: string;
  export default source;
}
