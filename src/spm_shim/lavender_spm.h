// C interface of liblavender_spm, the small plugin that holds Debian's libsentencepiece.
//
// Why a plugin: libsentencepiece.so carries its own protobuf-lite 3.14 and exports those
// symbols, while LibTorch loads the system libprotobuf 3.21. Linked into one process the two
// bind to each other's functions and the program crashes before main (or fails protobuf's
// version check). So lavender loads this plugin with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): its
// symbols stay out of the global scope and libsentencepiece binds to its own protobuf first.
// Plain C types only, so nothing allocated on one side is freed on the other.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// A loaded model, or NULL with a message in err (always NUL-terminated).
void* lavender_spm_load(const char* path, char* err, size_t err_size);
void lavender_spm_free(void* model);
// Ids of `text`: returns how many there are (writing at most `cap` of them), -1 on failure.
long lavender_spm_encode(void* model, const char* text, size_t len, int* ids, size_t cap);
// Text of `ids`: returns its length in bytes (writing at most `cap`), -1 on failure.
long lavender_spm_decode(void* model, const int* ids, size_t n, char* out, size_t cap);
// The piece of `id`: returns its length (writing at most `cap`), -1 for an unknown id.
long lavender_spm_id_to_piece(void* model, int id, char* out, size_t cap);
int lavender_spm_piece_to_id(void* model, const char* piece, size_t len);
int lavender_spm_piece_size(void* model);
int lavender_spm_is_control(void* model, int id);
// unk, bos, eos ids (-1 when the model has none).
void lavender_spm_special_ids(void* model, int* unk, int* bos, int* eos);

#ifdef __cplusplus
}
#endif
