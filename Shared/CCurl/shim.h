#ifndef CLOUDGREET_CCURL_SHIM_H
#define CLOUDGREET_CCURL_SHIM_H
/* libcurl is opened when the first transfer starts (cg_curl_open), not linked: it brings OpenSSL,
   GnuTLS, Kerberos, LDAP, libssh2 and some twenty more libraries, about 7 MB of a process's resident
   memory, which a service that has not sent anything yet has no use for. Only curl.h's types and
   constants are compiled in. Every call goes through these wrappers, which also give the variadic
   curl_easy_setopt and curl_easy_getinfo the typed signatures Swift can call. */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

#ifdef __APPLE__
#define CG_CURL_LIBRARY "libcurl.4.dylib"
#else
#define CG_CURL_LIBRARY "libcurl.so.4"
#endif

/* libcurl's entry points, as dlsym returns them. */
typedef struct {
    void *global_init, *easy_init, *easy_reset, *easy_cleanup, *easy_setopt, *easy_getinfo, *easy_perform,
        *easy_strerror, *slist_append, *slist_free_all;
} cg_curl_api;

/* Opens libcurl and fills `api`: NULL, or why it could not. */
static inline const char *cg_curl_open(cg_curl_api *api) {
    void *library = dlopen(CG_CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return dlerror();
    const char *names[] = {"curl_global_init", "curl_easy_init", "curl_easy_reset", "curl_easy_cleanup",
                           "curl_easy_setopt", "curl_easy_getinfo", "curl_easy_perform", "curl_easy_strerror",
                           "curl_slist_append", "curl_slist_free_all"};
    void **slots[] = {&api->global_init, &api->easy_init, &api->easy_reset, &api->easy_cleanup,
                      &api->easy_setopt, &api->easy_getinfo, &api->easy_perform, &api->easy_strerror,
                      &api->slist_append, &api->slist_free_all};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *slots[i] = dlsym(library, names[i]);
        if (*slots[i] == NULL) return "libcurl lacks a function this build calls";
    }
    return NULL;
}

typedef size_t (*cg_data_callback)(char *, size_t, size_t, void *);
typedef int (*cg_progress_callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

static inline CURLcode cg_global_init(cg_curl_api api, long flags) { return ((CURLcode(*)(long))api.global_init)(flags); }
static inline CURL *cg_easy_init(cg_curl_api api) { return ((CURL * (*)(void)) api.easy_init)(); }
static inline void cg_easy_reset(cg_curl_api api, CURL *h) { ((void (*)(CURL *))api.easy_reset)(h); }
static inline void cg_easy_cleanup(cg_curl_api api, CURL *h) { ((void (*)(CURL *))api.easy_cleanup)(h); }
static inline CURLcode cg_easy_perform(cg_curl_api api, CURL *h) { return ((CURLcode(*)(CURL *))api.easy_perform)(h); }
static inline const char *cg_easy_strerror(cg_curl_api api, CURLcode code) {
    return ((const char *(*)(CURLcode))api.easy_strerror)(code);
}
static inline struct curl_slist *cg_slist_append(cg_curl_api api, struct curl_slist *list, const char *line) {
    return ((struct curl_slist * (*)(struct curl_slist *, const char *)) api.slist_append)(list, line);
}
static inline void cg_slist_free_all(cg_curl_api api, struct curl_slist *list) {
    ((void (*)(struct curl_slist *))api.slist_free_all)(list);
}

#define CG_SETOPT(api) ((CURLcode(*)(CURL *, CURLoption, ...))(api).easy_setopt)
static inline CURLcode cg_setopt_long(cg_curl_api api, CURL *h, CURLoption o, long v) { return CG_SETOPT(api)(h, o, v); }
static inline CURLcode cg_setopt_string(cg_curl_api api, CURL *h, CURLoption o, const char *v) {
    return CG_SETOPT(api)(h, o, v);
}
static inline CURLcode cg_setopt_pointer(cg_curl_api api, CURL *h, CURLoption o, void *v) { return CG_SETOPT(api)(h, o, v); }
static inline CURLcode cg_setopt_slist(cg_curl_api api, CURL *h, CURLoption o, struct curl_slist *v) {
    return CG_SETOPT(api)(h, o, v);
}
static inline CURLcode cg_setopt_offset(cg_curl_api api, CURL *h, CURLoption o, curl_off_t v) {
    return CG_SETOPT(api)(h, o, v);
}
static inline CURLcode cg_setopt_data_callback(cg_curl_api api, CURL *h, CURLoption o, cg_data_callback v) {
    return CG_SETOPT(api)(h, o, v);
}
static inline CURLcode cg_setopt_progress_callback(cg_curl_api api, CURL *h, cg_progress_callback v) {
    return CG_SETOPT(api)(h, CURLOPT_XFERINFOFUNCTION, v);
}
static inline long cg_response_code(cg_curl_api api, CURL *h) {
    long code = 0;
    ((CURLcode(*)(CURL *, CURLINFO, ...))api.easy_getinfo)(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* Option constants are enum values built by macros; spelled out here so Swift sees them by name. */
static const CURLoption CG_URL = CURLOPT_URL;
static const CURLoption CG_CUSTOMREQUEST = CURLOPT_CUSTOMREQUEST;
static const CURLoption CG_HTTPHEADER = CURLOPT_HTTPHEADER;
static const CURLoption CG_POSTFIELDSIZE_LARGE = CURLOPT_POSTFIELDSIZE_LARGE;
static const CURLoption CG_POST = CURLOPT_POST;
static const CURLoption CG_UPLOAD = CURLOPT_UPLOAD;
static const CURLoption CG_INFILESIZE_LARGE = CURLOPT_INFILESIZE_LARGE;
static const CURLoption CG_NOBODY = CURLOPT_NOBODY;
static const CURLoption CG_HTTPGET = CURLOPT_HTTPGET;
static const CURLoption CG_WRITEFUNCTION = CURLOPT_WRITEFUNCTION;
static const CURLoption CG_WRITEDATA = CURLOPT_WRITEDATA;
static const CURLoption CG_HEADERFUNCTION = CURLOPT_HEADERFUNCTION;
static const CURLoption CG_HEADERDATA = CURLOPT_HEADERDATA;
static const CURLoption CG_READFUNCTION = CURLOPT_READFUNCTION;
static const CURLoption CG_READDATA = CURLOPT_READDATA;
static const CURLoption CG_XFERINFODATA = CURLOPT_XFERINFODATA;
static const CURLoption CG_NOPROGRESS = CURLOPT_NOPROGRESS;
static const CURLoption CG_NOSIGNAL = CURLOPT_NOSIGNAL;
static const CURLoption CG_CONNECTTIMEOUT_MS = CURLOPT_CONNECTTIMEOUT_MS;
static const CURLoption CG_TIMEOUT_MS = CURLOPT_TIMEOUT_MS;
static const CURLoption CG_MAIL_FROM = CURLOPT_MAIL_FROM;
static const CURLoption CG_MAIL_RCPT = CURLOPT_MAIL_RCPT;
static const CURLoption CG_USE_SSL = CURLOPT_USE_SSL;
static const CURLoption CG_USERNAME = CURLOPT_USERNAME;
static const CURLoption CG_PASSWORD = CURLOPT_PASSWORD;
static const CURLoption CG_FOLLOWLOCATION = CURLOPT_FOLLOWLOCATION;
static const CURLoption CG_PROTOCOLS_STR = CURLOPT_PROTOCOLS_STR;
static const CURLoption CG_ERRORBUFFER = CURLOPT_ERRORBUFFER;
static const CURLoption CG_ACCEPT_ENCODING = CURLOPT_ACCEPT_ENCODING;
static const CURLoption CG_TCP_KEEPALIVE = CURLOPT_TCP_KEEPALIVE;
static const CURLoption CG_RESOLVE = CURLOPT_RESOLVE;

static const long CG_USESSL_NONE = CURLUSESSL_NONE;
static const long CG_USESSL_TRY = CURLUSESSL_TRY;
static const long CG_USESSL_ALL = CURLUSESSL_ALL;
static const size_t CG_READFUNC_ABORT = CURL_READFUNC_ABORT;
#endif
