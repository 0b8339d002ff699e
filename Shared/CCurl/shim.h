#ifndef CLOUDGREET_CCURL_SHIM_H
#define CLOUDGREET_CCURL_SHIM_H
/* curl_easy_setopt and curl_easy_getinfo are variadic and do not import into Swift:
   these typed wrappers are what the Swift side calls. */
#include <curl/curl.h>

typedef size_t (*cg_data_callback)(char *, size_t, size_t, void *);
typedef int (*cg_progress_callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

static inline CURLcode cg_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_offset(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_data_callback(CURL *h, CURLoption o, cg_data_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cg_setopt_progress_callback(CURL *h, cg_progress_callback v) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, v);
}
static inline long cg_response_code(CURL *h) {
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
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
