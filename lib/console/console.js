// The console's router: hash navigation (#/apps, #/apps/<id>/settings, #/secrets …), so
// reloading or sharing a link lands on the same screen and nothing reaches the server's URL.
import { appScreen, appsScreen } from "./apps.js";
import { auditScreen } from "./audit.js";
import { doctorScreen } from "./doctor.js";
import { h } from "./dom.js";
import { secretsScreen } from "./secrets.js";
import { settingsScreen } from "./settings.js";
import { usersScreen } from "./users.js";

const APP_TABS = [
  ["settings", "Settings"],
  ["users", "Users"],
  ["audit", "Audit log"],
  ["doctor", "Doctor"],
];

function parse() {
  const parts = location.hash.replace(/^#\/?/, "").split("?")[0].split("/").map(decodeURIComponent);
  if (parts[0] === "apps" && parts[1]) return { screen: parts[2] || "app", appId: parts[1] };
  if (parts[0] === "secrets") return { screen: "secrets" };
  return { screen: "apps" };
}

function nav({ screen, appId }) {
  const link = (href, text, current) => h("a", { href, "aria-current": current ? "page" : undefined }, text);
  const items = [
    link("#/apps", "Apps", screen === "apps"),
    link("#/secrets", "Provider secrets", screen === "secrets"),
  ];
  if (appId) {
    items.push(h("span", { class: "app-name" }, `App ${appId}:`));
    items.push(link(`#/apps/${encodeURIComponent(appId)}`, "API keys", screen === "app"));
    for (const [tab, text] of APP_TABS)
      items.push(link(`#/apps/${encodeURIComponent(appId)}/${tab}`, text, screen === tab));
  }
  document.getElementById("nav").replaceChildren(...items);
}

const SCREENS = {
  apps: appsScreen,
  app: appScreen,
  settings: settingsScreen,
  users: usersScreen,
  audit: auditScreen,
  doctor: doctorScreen,
  secrets: secretsScreen,
};

let rendering = 0;
async function render() {
  const route = parse();
  nav(route);
  const main = document.getElementById("app");
  const mine = ++rendering;
  const view = await (SCREENS[route.screen] ?? appsScreen)(route.appId);
  if (mine !== rendering) return; // a later navigation won
  main.replaceChildren(view);
  main.dataset.screen = route.screen;
  // After a navigation, keyboard and screen-reader users start at the new screen, not the old link.
  if (moved) main.focus();
}

let moved = false;
window.addEventListener("hashchange", () => {
  moved = true;
  render();
});
render();
