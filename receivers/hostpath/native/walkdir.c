// One directory of a hostpath walk in one call: getdents64 on a descriptor, then fstatat on each
// name relative to it, the way GNU du does. Node has neither: its lstat resolves the full path
// from / for every entry (about twice the kernel time of a one-component fstatat) and builds a
// JS value per entry. Here only subdirectory names and hard-linked inodes cross into JS.
//
// scan(path, dev, control, maxEntries, pool, handBackAbove, follow, out, links, errors) → names
//   path          string or Buffer, the directory
//   dev           the walk's st_dev: entries on another device are mount points, not counted
//   control       Int32Array on the job's SharedArrayBuffer: [0] abort flag, [1] entries spent
//   maxEntries    the job's entry budget (0: none); over it the job is aborted (flag 2)
//   pool          Int32Array ([0] idle threads) or null: when a thread is idle and the directory
//                 holds more than handBackAbove names, they are returned unstat-ed for sharing
//   follow        open the path even if it is a symlink (only /proc/self/fd/N roots)
//   out           Float64Array(8): status, open errno, blocks, bytes, inodes, mounts, names
//   links         array: (ino, blocks, bytes) appended for each non-directory with nlink > 1,
//                 left to JS, which counts each inode once across the job
//   errors        array: (errno, count) pairs appended for entries that could not be stat-ed
//   names         subdirectories on the walk's device (status 0), or every name (status 2)
// Status: 0 done, 1 aborted, 2 handed back. Names come back as strings when valid UTF-8, else
// as Buffers holding the exact bytes. Never throws for file system errors, only for bad
// arguments.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <node_api.h>

enum { STATUS_DONE = 0, STATUS_ABORTED = 1, STATUS_HANDED_BACK = 2 };
enum { OUT_STATUS, OUT_OPEN_ERRNO, OUT_BLOCKS, OUT_BYTES, OUT_INODES, OUT_MOUNTS, OUT_NAMES, OUT_LENGTH = 8 };
enum { CONTROL_ABORT = 0, CONTROL_ENTRIES = 1, ABORT_ENTRY_LIMIT = 2 };
#define ABORT_CHECK_EVERY 1024
#define MAX_ERRNOS 32

struct dirent64_record {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// The directory's records, read whole before any stat so a huge one can be handed back.
// One per JS environment (worker thread), grown as needed, freed with the environment.
struct arena {
  char *data;
  size_t size;
};

struct error_counts {
  int count;
  int errnos[MAX_ERRNOS];
  double counts[MAX_ERRNOS];
};

static void count_error(struct error_counts *e, int err) {
  for (int i = 0; i < e->count; i++) {
    if (e->errnos[i] == err) {
      e->counts[i]++;
      return;
    }
  }
  // More distinct errnos than slots is not a real case; fold them into EIO rather than lose them.
  if (e->count == MAX_ERRNOS) err = EIO;
  for (int i = 0; i < e->count; i++) {
    if (e->errnos[i] == err) {
      e->counts[i]++;
      return;
    }
  }
  e->errnos[e->count] = err;
  e->counts[e->count] = 1;
  e->count++;
}

static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += len;
  }
  return 1;
}

static int is_dot_or_dotdot(const char *name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static napi_status push_name(napi_env env, napi_value array, uint32_t index, const char *name) {
  size_t n = strlen(name);
  napi_value value;
  napi_status status = valid_utf8((const unsigned char *)name, n) ? napi_create_string_utf8(env, name, n, &value)
                                                                   : napi_create_buffer_copy(env, n, name, NULL, &value);
  if (status != napi_ok) return status;
  return napi_set_element(env, array, index, value);
}

static napi_status push_number(napi_env env, napi_value array, double number) {
  uint32_t length;
  napi_value value;
  napi_status status = napi_get_array_length(env, array, &length);
  if (status == napi_ok) status = napi_create_double(env, number, &value);
  if (status == napi_ok) status = napi_set_element(env, array, length, value);
  return status;
}

static int32_t *int32_array(napi_env env, napi_value value, size_t min_length) {
  bool is_typed;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, NULL, NULL) != napi_ok) return NULL;
  if (type != napi_int32_array || length < min_length) return NULL;
  return data;
}

// The path as a NUL-terminated heap string (caller frees), from a JS string or Buffer.
static char *path_argument(napi_env env, napi_value value) {
  bool is_buffer;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok) return NULL;
  if (is_buffer) {
    void *data;
    size_t n;
    if (napi_get_buffer_info(env, value, &data, &n) != napi_ok || memchr(data, 0, n) != NULL) return NULL;
    char *path = malloc(n + 1);
    if (path == NULL) return NULL;
    memcpy(path, data, n);
    path[n] = '\0';
    return path;
  }
  size_t n;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &n) != napi_ok) return NULL;
  char *path = malloc(n + 1);
  if (path == NULL) return NULL;
  if (napi_get_value_string_utf8(env, value, path, n + 1, &n) != napi_ok || strlen(path) != n) {
    free(path);
    return NULL;
  }
  return path;
}

// Reads every record of fd into the arena; returns the bytes used or -errno.
static ssize_t read_records(struct arena *a, int fd) {
  const size_t chunk = 64 * 1024;
  size_t used = 0;
  for (;;) {
    if (a->size - used < chunk) {
      size_t size = a->size == 0 ? 4 * chunk : a->size * 2;
      char *data = realloc(a->data, size);
      if (data == NULL) return -ENOMEM;
      a->data = data;
      a->size = size;
    }
    long n = syscall(SYS_getdents64, fd, a->data + used, a->size - used);
    if (n < 0) return -errno;
    if (n == 0) return (ssize_t)used;
    used += (size_t)n;
  }
}

static void free_arena(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct arena *a = data;
  free(a->data);
  free(a);
}

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) goto napi_failed;          \
  } while (0)

static napi_value scan(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_value result = NULL;
  char *path = NULL;
  int fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 10) {
    napi_throw_type_error(env, "ERR_NODEMETER_WALKDIR_ARGS", "scan() takes 10 arguments");
    return NULL;
  }
  double dev, max_entries, hand_back_above;
  bool follow;
  int32_t *control = int32_array(env, argv[2], 2);
  napi_valuetype pool_type;
  int32_t *pool = NULL;
  double *out = NULL;
  napi_typedarray_type out_type;
  size_t out_length;
  bool is_typed;
  path = path_argument(env, argv[0]);
  if (path == NULL || control == NULL || napi_get_value_double(env, argv[1], &dev) != napi_ok ||
      napi_get_value_double(env, argv[3], &max_entries) != napi_ok || napi_typeof(env, argv[4], &pool_type) != napi_ok ||
      napi_get_value_double(env, argv[5], &hand_back_above) != napi_ok || napi_get_value_bool(env, argv[6], &follow) != napi_ok ||
      napi_is_typedarray(env, argv[7], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[7], &out_type, &out_length, (void **)&out, NULL, NULL) != napi_ok ||
      out_type != napi_float64_array || out_length < OUT_LENGTH) {
    free(path);
    napi_throw_type_error(env, "ERR_NODEMETER_WALKDIR_ARGS", "scan(): bad argument types");
    return NULL;
  }
  if (pool_type != napi_null && (pool = int32_array(env, argv[4], 1)) == NULL) {
    free(path);
    napi_throw_type_error(env, "ERR_NODEMETER_WALKDIR_ARGS", "scan(): pool must be an Int32Array or null");
    return NULL;
  }
  napi_value links = argv[8];
  napi_value errors = argv[9];

  struct arena *a;
  CHECK(napi_get_instance_data(env, (void **)&a));
  if (a == NULL) {
    a = calloc(1, sizeof *a);
    if (a == NULL || napi_set_instance_data(env, a, free_arena, NULL) != napi_ok) {
      free(a);
      free(path);
      napi_throw_error(env, "ERR_NODEMETER_WALKDIR_MEMORY", "scan(): out of memory");
      return NULL;
    }
  }

  memset(out, 0, OUT_LENGTH * sizeof(double));
  CHECK(napi_create_array(env, &result));
  fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    out[OUT_OPEN_ERRNO] = errno;
    goto done;
  }
  ssize_t used = read_records(a, fd);
  if (used < 0) {
    out[OUT_OPEN_ERRNO] = (double)-used;
    goto done;
  }

  uint32_t names = 0;
  for (ssize_t at = 0; at < used;) {
    struct dirent64_record *d = (struct dirent64_record *)(a->data + at);
    at += d->d_reclen;
    if (!is_dot_or_dotdot(d->d_name)) names++;
  }
  out[OUT_NAMES] = names;
  if (max_entries > 0) {
    int32_t before = __atomic_fetch_add(&control[CONTROL_ENTRIES], (int32_t)names, __ATOMIC_SEQ_CST);
    if ((double)before + names > max_entries) {
      int32_t expected = 0;
      __atomic_compare_exchange_n(&control[CONTROL_ABORT], &expected, ABORT_ENTRY_LIMIT, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      out[OUT_STATUS] = STATUS_ABORTED;
      goto done;
    }
  }

  if (pool != NULL && names > hand_back_above && __atomic_load_n(&pool[0], __ATOMIC_SEQ_CST) > 0) {
    uint32_t index = 0;
    for (ssize_t at = 0; at < used;) {
      struct dirent64_record *d = (struct dirent64_record *)(a->data + at);
      at += d->d_reclen;
      if (!is_dot_or_dotdot(d->d_name)) CHECK(push_name(env, result, index++, d->d_name));
    }
    out[OUT_STATUS] = STATUS_HANDED_BACK;
    goto done;
  }

  struct error_counts errs = {0};
  double blocks = 0, bytes = 0, inodes = 0, mounts = 0;
  uint32_t dirs = 0, seen = 0;
  for (ssize_t at = 0; at < used;) {
    struct dirent64_record *d = (struct dirent64_record *)(a->data + at);
    at += d->d_reclen;
    if (is_dot_or_dotdot(d->d_name)) continue;
    if (++seen % ABORT_CHECK_EVERY == 0 && __atomic_load_n(&control[CONTROL_ABORT], __ATOMIC_SEQ_CST) != 0) {
      out[OUT_STATUS] = STATUS_ABORTED;
      break;
    }
    struct stat st;
    if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      count_error(&errs, errno);
      continue;
    }
    // Like `du -x`: another filesystem's mount point is neither counted nor entered.
    if ((double)st.st_dev != dev) {
      mounts++;
      continue;
    }
    int is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && st.st_nlink > 1) {
      CHECK(push_number(env, links, (double)st.st_ino));
      CHECK(push_number(env, links, (double)st.st_blocks));
      CHECK(push_number(env, links, (double)st.st_size));
      continue;
    }
    blocks += (double)st.st_blocks;
    bytes += (double)st.st_size;
    inodes++;
    if (is_dir) CHECK(push_name(env, result, dirs++, d->d_name));
  }
  for (int i = 0; i < errs.count; i++) {
    CHECK(push_number(env, errors, errs.errnos[i]));
    CHECK(push_number(env, errors, errs.counts[i]));
  }
  out[OUT_BLOCKS] = blocks;
  out[OUT_BYTES] = bytes;
  out[OUT_INODES] = inodes;
  out[OUT_MOUNTS] = mounts;

done:
  if (fd >= 0) close(fd);
  free(path);
  return result;

napi_failed:
  if (fd >= 0) close(fd);
  free(path);
  {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NODEMETER_WALKDIR_NAPI", "scan(): a Node-API call failed");
  }
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "scan", NAPI_AUTO_LENGTH, scan, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scan", fn) != napi_ok) return NULL;
  return exports;
}
