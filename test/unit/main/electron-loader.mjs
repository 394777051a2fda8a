// Node module hook for the smoke test: `import … from 'electron'` gets the fake of fake-electron.ts.
export async function resolve(specifier, context, next) {
  if (specifier === 'electron')
    return { url: new URL('./fake-electron.ts', import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
