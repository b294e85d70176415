// The extension's background. Pairing, the relay connection and code delivery arrive with the
// extension issue; until then the build carries only this entrypoint.
export default defineBackground(() => {});
