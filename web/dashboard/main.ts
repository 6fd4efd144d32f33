// The dashboard page (placeholder until its issue builds it).
import { html, render } from "htm/preact";

render(html`<h1>labdaemon dashboard</h1>`, document.getElementById("app")!);
