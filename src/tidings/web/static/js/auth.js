// Sign in / create account.
import { api } from "./api.js";
import { forgetAppPage, registerWorker } from "./worker.js";

// Nobody is signed in here: the app page kept for opening offline (it names its user) goes, and
// the worker is installed ahead of the app.
forgetAppPage();
registerWorker();

const mode = document.body.dataset.mode;
const form = document.querySelector("[data-testid=auth-form]");
const error = document.querySelector("[data-testid=auth-error]");
const submit = document.querySelector("[data-testid=auth-submit]");

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

function validate(values) {
  if (mode === "login") {
    if (!values.username || !values.password) return "Enter your username and password.";
    return null;
  }
  if (!/^[A-Za-z0-9_]{3,32}$/.test(values.username)) {
    return "Usernames are 3–32 characters: letters, digits and underscores.";
  }
  if (values.password.length < 8) return "Passwords need at least 8 characters.";
  return null;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const values = {
    username: String(data.get("username") ?? "").trim(),
    password: String(data.get("password") ?? ""),
  };
  const problem = validate(values);
  if (problem) {
    showError(problem);
    return;
  }
  error.hidden = true;
  submit.disabled = true;
  try {
    if (mode === "login") {
      await api("POST", "/api/auth/login", values);
    } else {
      const displayName = String(data.get("display_name") ?? "").trim();
      await api("POST", "/api/auth/register", { ...values, ...(displayName ? { display_name: displayName } : {}) });
    }
    location.assign("/");
  } catch (err) {
    if (err.status === 401) showError("Wrong username or password.");
    else if (err.code === "username_taken" || err.status === 409) showError("That username is taken. Try another.");
    else showError(err.message);
    submit.disabled = false;
  }
});
