// `import x from "swagger-ui-dist/…" with { type: "file" }` gives the embedded file's path.
declare module "swagger-ui-dist/*" {
  const path: string;
  export default path;
}
