// The shell: login, the role, the navigation between pages and the one WebSocket feed they share.
import { Feed, get, token } from "./api.js";
import { h } from "./dom.js";
import { builderPage } from "./builder.js";
import { healthPage } from "./health.js";
import { recurringPage } from "./recurring.js";
import { reportsPage } from "./reports.js";
import { selectorPage } from "./selector.js";
import { trackerPage } from "./tracker.js";

const PAGES = {
  strategies: selectorPage,
  builder: builderPage,
  positions: trackerPage,
  recurring: recurringPage,
  reports: reportsPage,
  health: healthPage,
};
const main = document.getElementById("main");
const loginForm = document.getElementById("login");
let session = null; // {role, principal, feed}
let leave = null; // the open page's cleanup

export const can = (role) => {
  const order = ["viewer", "trader", "admin"];
  return session && order.indexOf(session.role) >= order.indexOf(role);
};

async function start() {
  const health = await get("/health");
  session = { role: health.role, principal: health.principal, feed: new Feed() };
  session.feed.connect();
  document.body.dataset.role = health.role;
  document.getElementById("who").textContent = `${health.principal} (${health.role})`;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  route();
}

function route() {
  if (!session) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "strategies";
  for (const a of document.querySelectorAll("#nav a")) a.toggleAttribute("aria-current", a.getAttribute("href") === `#/${page}`);
  if (leave) leave();
  const root = h("section", { class: "page", id: `page-${page}` });
  main.replaceChildren(root);
  leave = PAGES[page](root, { feed: session.feed, can, args: rest.map(decodeURIComponent) }) || null;
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  token.set(document.getElementById("token").value.trim());
  try {
    await start();
  } catch (error) {
    token.clear();
    session = null;
    document.getElementById("login-error").textContent = error.status === 401 ? "Unknown token." : error.message;
  }
});

document.getElementById("logout").addEventListener("click", () => {
  token.clear();
  location.hash = "";
  location.reload();
});

window.addEventListener("hashchange", route);
if (token.get()) start().catch(() => token.clear());
