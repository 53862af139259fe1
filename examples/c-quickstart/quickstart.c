// A stampede load-test script in C: one GET of $BASE_URL/ per iteration, checked for 200.
//
// It implements the exports of the world `script` (host-api/wit/script.wit) on top of the
// bindings that `wit-bindgen c` generates into gen/ (script.h, script.c,
// script_component_type.o). See build.sh for the build.
//
// Ownership, as the generated C bindings define it:
//  - An export's parameters (teardown's `data`) belong to the callee: free them.
//  - What an export returns is freed by the generated post-return function (with free()), so
//    it must be heap memory: use script_string_dup, never script_string_set on a literal.
//  - Import parameters are only borrowed: script_string_set on a literal is fine there.
//  - What an import returns (an env value, a header list…) belongs to the caller: free it.
//  - `response` is a resource: `send` returns an owned handle; its methods take a borrow made
//    with stampede_script_http_borrow_response(own) (no drop for that borrow); drop the owned
//    handle with stampede_script_http_response_drop_own when done, or it lives as long as the VU.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

// ---- small helpers over the generated API -------------------------------------------------

// Writes a line to the test's log.
static void log_info(const char *message) {
    script_string_t msg;
    script_string_set(&msg, message);
    stampede_script_context_log(STAMPEDE_SCRIPT_CONTEXT_LOG_LEVEL_INFO, &msg);
}

// Records the check `name` with no extra tags; returns `ok`.
static bool check(const char *name, bool ok) {
    script_string_t n;
    script_list_tuple2_string_string_t no_tags = {NULL, 0};
    script_string_set(&n, name);
    return stampede_script_checks_check(&n, ok, &no_tags);
}

// The variable `name` given with `-e NAME=VALUE` as a NUL-terminated malloc'd string, or a
// copy of `fallback`. The caller frees it.
static char *env_or(const char *name, const char *fallback) {
    script_string_t n, value;
    script_string_set(&n, name);
    if (!stampede_script_context_env(&n, &value)) {
        return strdup(fallback);
    }
    char *s = malloc(value.len + 1);
    memcpy(s, value.ptr, value.len);
    s[value.len] = '\0';
    script_string_free(&value);
    return s;
}

// Sends a GET with the test's defaults (no headers, tags, timeout, name, redirect limit) and
// returns the owned response handle.
static stampede_script_http_own_response_t http_get(const char *url) {
    // All zero: empty lists and strings, options `none`, discard-body false, and jar-choice
    // tag 0, the VU's cookie jar.
    stampede_script_http_request_t req = {0};
    script_string_set(&req.method, "GET");
    script_string_set(&req.url, url);
    return stampede_script_http_send(&req);
}

// Sets `err` to a heap copy of `message` (the post-return function frees it).
static bool fail(script_string_t *err, const char *message) {
    script_string_dup(err, message);
    return false;
}

// ---- the world's exports ------------------------------------------------------------------

// options: k6's schema as JSON. Returned memory is freed by the post-return function.
void exports_script_options(script_string_t *ret) {
    script_string_dup(ret,
        "{\"vus\": 2, \"duration\": \"5s\","
        " \"thresholds\": {\"http_req_duration\": [\"p(95)<500\"], \"checks\": [\"rate>0.99\"]}}");
}

// entry-points: only "default" (scenarios may name it with "exec").
void exports_script_entry_points(script_list_string_t *ret) {
    ret->len = 1;
    ret->ptr = malloc(sizeof(script_string_t));
    script_string_dup(&ret->ptr[0], "default");
}

// setup: no data. The SDKs encode setup data as JSON, so "nothing" is `null`.
bool exports_script_setup(script_list_u8_t *ret, script_string_t *err) {
    (void)err;
    static const char null_json[] = "null";
    ret->len = sizeof null_json - 1;
    ret->ptr = malloc(ret->len);
    memcpy(ret->ptr, null_json, ret->len);
    return true;
}

// iteration: one GET of $BASE_URL/ and a check on its status. `entry` is an index into the
// list entry-points returned (0: "default"). A script with setup data would ask for it with
// stampede_script_context_setup_data (once, and keep it). Returns false with `err` set to fail
// the iteration (it is counted and logged; the test goes on).
bool exports_script_iteration(uint32_t entry, script_string_t *err) {
    if (entry != 0) {
        return fail(err, "the script has no such entry point");
    }

    char *base = env_or("BASE_URL", "http://127.0.0.1:8080");
    char url[1024];
    snprintf(url, sizeof url, "%s/", base);
    free(base);

    stampede_script_http_own_response_t res = http_get(url);
    stampede_script_http_borrow_response_t r = stampede_script_http_borrow_response(res);
    uint16_t status = stampede_script_http_method_response_status(r);  // fetches only the status
    check("status is 200", status == 200);
    if (status == 0) {
        // Not an error of the script: the request failed (refused, timed out…) and is already
        // counted in http_req_failed. Say why in the log.
        script_string_t error;
        stampede_script_http_method_response_error(r, &error);
        char line[1200];
        snprintf(line, sizeof line, "GET %s failed: %.*s", url, (int)error.len, (const char *)error.ptr);
        script_string_free(&error);
        log_info(line);
    }
    stampede_script_http_response_drop_own(res);
    return true;
}

// teardown: nothing to clean up.
bool exports_script_teardown(script_list_u8_t *data, script_string_t *err) {
    (void)err;
    script_list_u8_free(data);
    log_info("teardown done");
    return true;
}
