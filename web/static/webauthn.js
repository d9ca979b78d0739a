/* Haven: passkey (WebAuthn) registration and sign-in.
 *
 * Dependency-free; loaded with <script src="/static/webauthn.js" defer>. It wires up
 * every button with a data-webauthn attribute:
 *
 *   <meta name="csrf-token" content="TOKEN">
 *   <button type="button" data-webauthn="register" data-begin="/account/passkeys/begin"
 *           data-finish="/account/passkeys/finish" data-webauthn-name="#passkey-name">...</button>
 *   <button type="button" data-webauthn="sign-in" data-begin="/sign-in/passkey/begin"
 *           data-finish="/sign-in/passkey/finish">...</button>
 *   <div class="nhsuk-error-message" data-webauthn-error hidden></div>
 *
 * Flow: POST begin (X-CSRF-Token header; optional ?name= from the input named by
 * data-webauthn-name) -> go-webauthn options JSON (protocol.CredentialCreation or
 * protocol.CredentialAssertion, binary fields base64url) -> navigator.credentials
 * create()/get() -> POST finish with the credential in the WebAuthn JSON shape that
 * protocol.ParseCredentialCreationResponseBody / ParseCredentialRequestResponseBody
 * read -> {"redirect": "/path"} on success, or {"error": "message"} (non-2xx), which is
 * shown in [data-webauthn-error].
 */
(function () {
  "use strict";

  var MESSAGES = {
    unsupported: "This browser cannot use passkeys.",
    cancelled: "The passkey request was cancelled or timed out. Try again.",
    duplicate: "A passkey for your account is already saved on this device or security key.",
    network: "Could not connect to the service. Check your internet connection and try again.",
    generic: "Something went wrong using your passkey. Try again."
  };

  // --- base64url <-> ArrayBuffer -------------------------------------------------

  function b64urlToBuffer(s) {
    if (typeof s !== "string") {
      throw new TypeError("expected a base64url string");
    }
    var b64 = s.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4 !== 0) {
      b64 += "=";
    }
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function isBinary(v) {
    return v instanceof ArrayBuffer || ArrayBuffer.isView(v);
  }

  function bufferToB64url(buf) {
    var bytes = buf instanceof ArrayBuffer
      ? new Uint8Array(buf)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    var bin = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Recursively replace ArrayBuffers (e.g. in PRF or largeBlob extension outputs)
  // with base64url strings, as PublicKeyCredential.toJSON() would.
  function jsonValue(v) {
    if (isBinary(v)) {
      return bufferToB64url(v);
    }
    if (Array.isArray(v)) {
      return v.map(jsonValue);
    }
    if (v && typeof v === "object") {
      var out = {};
      Object.keys(v).forEach(function (k) {
        out[k] = jsonValue(v[k]);
      });
      return out;
    }
    return v;
  }

  // --- options from the server -> options for navigator.credentials ------------

  function withIds(list) {
    if (!Array.isArray(list)) {
      return list;
    }
    return list.map(function (d) {
      return Object.assign({}, d, { id: b64urlToBuffer(d.id) });
    });
  }

  function creationOptions(data) {
    var pk = Object.assign({}, data.publicKey);
    pk.challenge = b64urlToBuffer(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuffer(pk.user.id) });
    if (pk.excludeCredentials) {
      pk.excludeCredentials = withIds(pk.excludeCredentials);
    }
    return withMediation({ publicKey: pk }, data.mediation);
  }

  function requestOptions(data) {
    var pk = Object.assign({}, data.publicKey);
    pk.challenge = b64urlToBuffer(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = withIds(pk.allowCredentials);
    }
    return withMediation({ publicKey: pk }, data.mediation);
  }

  // "conditional" mediation belongs to autofill/automatic flows started on page
  // load, not to a button press, so it is not passed on here.
  function withMediation(options, mediation) {
    if (typeof mediation === "string" && mediation !== "" && mediation !== "conditional") {
      options.mediation = mediation;
    }
    return options;
  }

  // --- credential -> JSON for go-webauthn ---------------------------------------

  function credentialJSON(cred, register) {
    var r = cred.response;
    var rawId = bufferToB64url(cred.rawId);
    var response;
    if (register) {
      response = {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        attestationObject: bufferToB64url(r.attestationObject)
      };
      if (typeof r.getTransports === "function") {
        response.transports = r.getTransports();
      }
    } else {
      response = {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        authenticatorData: bufferToB64url(r.authenticatorData),
        signature: bufferToB64url(r.signature),
        userHandle: r.userHandle ? bufferToB64url(r.userHandle) : null
      };
    }
    return {
      // id is by definition base64url(rawId); go-webauthn rejects any mismatch.
      id: rawId,
      rawId: rawId,
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: jsonValue(
        typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {}
      ),
      response: response
    };
  }

  // --- HTTP ----------------------------------------------------------------------

  function UserError(message) {
    this.userMessage = message;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  function sameOriginURL(path) {
    var url = new URL(path, window.location.href);
    if (url.origin !== window.location.origin) {
      throw new UserError(MESSAGES.generic);
    }
    return url;
  }

  async function postJSON(url, body) {
    var headers = { "Accept": "application/json", "X-CSRF-Token": csrfToken() };
    var init = { method: "POST", credentials: "same-origin", cache: "no-store", headers: headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    var res;
    try {
      res = await fetch(url.href, init);
    } catch (e) {
      throw new UserError(MESSAGES.network);
    }
    var data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      var msg = data && typeof data.error === "string" && data.error !== "" ? data.error : MESSAGES.generic;
      throw new UserError(msg);
    }
    if (!data || typeof data !== "object") {
      throw new UserError(MESSAGES.generic);
    }
    return data;
  }

  // --- page wiring ---------------------------------------------------------------

  function errorElement() {
    return document.querySelector("[data-webauthn-error]");
  }

  function showError(message) {
    var el = errorElement();
    if (!el) {
      return;
    }
    el.textContent = message;
    el.hidden = false;
  }

  function clearError() {
    var el = errorElement();
    if (el) {
      el.hidden = true;
      el.textContent = "";
    }
  }

  function messageFor(err, register) {
    if (err instanceof UserError) {
      return err.userMessage;
    }
    switch (err && err.name) {
      case "NotAllowedError":
      case "AbortError":
        return MESSAGES.cancelled;
      case "InvalidStateError":
        return register ? MESSAGES.duplicate : MESSAGES.generic;
      default:
        return MESSAGES.generic;
    }
  }

  function passkeyName(button) {
    var selector = button.getAttribute("data-webauthn-name");
    if (!selector) {
      return "";
    }
    var input = null;
    try {
      input = document.querySelector(selector);
    } catch (e) {
      input = null; // invalid selector
    }
    return input && typeof input.value === "string" ? input.value.trim() : "";
  }

  // Only follow a local path ("/x", not "//host" or "/\host").
  // A path on this site only. Control characters are refused because
  // browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil");
  // the resolved URL must also still be on this origin.
  function isLocalPath(p) {
    if (typeof p !== "string" || !/^\/(?![\/\\])/.test(p) || /[\u0000-\u001f\u007f]/.test(p)) {
      return false;
    }
    try {
      return new URL(p, window.location.href).origin === window.location.origin;
    } catch (e) {
      return false;
    }
  }

  async function run(button) {
    var register = button.getAttribute("data-webauthn") === "register";
    var begin = sameOriginURL(button.getAttribute("data-begin") || "");
    var finish = sameOriginURL(button.getAttribute("data-finish") || "");
    if (register) {
      var name = passkeyName(button);
      if (name !== "") {
        begin.searchParams.set("name", name);
      }
    }

    var options = await postJSON(begin);
    if (!options.publicKey) {
      throw new UserError(MESSAGES.generic);
    }
    var cred = register
      ? await navigator.credentials.create(creationOptions(options))
      : await navigator.credentials.get(requestOptions(options));
    if (!cred) {
      throw new UserError(MESSAGES.cancelled);
    }

    var result = await postJSON(finish, credentialJSON(cred, register));
    if (!isLocalPath(result.redirect)) {
      throw new UserError(MESSAGES.generic);
    }
    window.location.assign(result.redirect);
  }

  function buttons() {
    return Array.prototype.slice.call(document.querySelectorAll("button[data-webauthn]"));
  }

  function init() {
    var list = buttons();
    if (list.length === 0) {
      return;
    }
    var el = errorElement();
    if (el && !el.hasAttribute("role")) {
      el.setAttribute("role", "alert");
    }

    if (!window.PublicKeyCredential || !navigator.credentials ||
        typeof navigator.credentials.create !== "function" || typeof window.fetch !== "function") {
      list.forEach(function (b) {
        b.disabled = true;
      });
      showError(MESSAGES.unsupported);
      return;
    }

    list.forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        if (button.disabled) {
          return;
        }
        button.disabled = true;
        clearError();
        run(button).catch(function (err) {
          showError(messageFor(err, button.getAttribute("data-webauthn") === "register"));
          button.disabled = false;
        });
      });
    });

    // Coming back to the page from the back/forward cache after a successful
    // redirect would otherwise leave the button disabled.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        list.forEach(function (b) {
          b.disabled = false;
        });
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
