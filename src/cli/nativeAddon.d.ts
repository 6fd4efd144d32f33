// Types for the Windows addon embedded by src/cli/windowsEntry.ts (`with { type: "file" }` gives a path).
declare module "*.node" {
  const path: string;
  export default path;
}
