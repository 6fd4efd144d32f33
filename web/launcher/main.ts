// The launcher page (placeholder until its issue builds it).
import { html, render } from "htm/preact";

render(html`<h1>labdaemon launcher</h1>`, document.getElementById("app")!);
