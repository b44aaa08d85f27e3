/*
 * The shim <-> agent protocol (docs/transparent-cuda.md, "Wire protocol"). One Unix stream socket per
 * process; all integers little-endian.
 *
 *   request: u32 length (of what follows), u32 op, payload
 *   reply:   u32 length (of what follows), i32 CUresult, payload (on error: UTF-8 diagnosis)
 *
 * Only ops marked SYNC get a reply. The agent handles requests strictly in order, so a reply means every
 * earlier request has been read, its shared-memory data consumed, and (for ops that touch a context)
 * forwarded to that context's session. Errors of asynchronous ops are held by the agent and returned by
 * the next SYNC op of the same context, as CUDA reports them at the next synchronizing call.
 *
 * Bulk data travels through a memfd the shim creates and maps; the agent opens it through
 * /proc/<pid>/fd/<fd> after checking the pid against the socket's peer (see the doc).
 */
#ifndef SPILLWAY_WIRE_H
#define SPILLWAY_WIRE_H

#define SPW_PROTOCOL_VERSION 1u

/* Where copy data lies. */
#define SPW_DATA_INLINE 0u /* in the message (requests) or the reply (DTOH) */
#define SPW_DATA_SHM 1u    /* in the shared memory at the given offset */

/* Ops. Payload layout after the op word; "cd" is u32 context, u32 device (the session's GPU index). */
enum spw_op {
  /* SYNC. u32 version, u32 pid, i32 memfd, u32 reserved, u64 shm bytes, u64 va base, u64 va bytes,
   *       u32 slice-text length, slice text ("gpus=1,memory=8GiB,...").
   * reply: u32 device count, then per device: char name[256], u8 uuid[16], u64 memory bytes (the slice),
   *        u32 attribute count, i32 attributes[count] (indexed by CUdevice_attribute). Context 0 is the
   *        process's primary context (one session whose GPUs are the devices). */
  SPW_HELLO = 1,
  /* SYNC. u32 device -> u32 context (a new session) */
  SPW_CTX_CREATE = 2,
  /* SYNC. u32 context (ends its session) */
  SPW_CTX_DESTROY = 3,
  /* SYNC. cd, u64 bytes -> u64 device address (CUDA_ERROR_OUT_OF_MEMORY over the slice) */
  SPW_MALLOC = 4,
  /* async. cd, u64 address */
  SPW_FREE = 5,
  /* async. cd, u64 dst, u64 bytes, u32 where, u32 reserved, u64 shm offset, [bytes if inline] */
  SPW_HTOD = 6,
  /* SYNC. cd, u64 src, u64 bytes, u32 where, u32 reserved, u64 shm offset -> [bytes if inline] */
  SPW_DTOH = 7,
  /* async. cd, u64 dst, u64 src, u64 bytes */
  SPW_DTOD = 8,
  /* async. cd, u64 dst, u32 width (1|2|4), u32 value, u64 count */
  SPW_MEMSET = 9,
  /* SYNC. cd, u64 bytes, image (PTX text, fatbin, or fatbin wrapper data) -> u32 module */
  SPW_MODULE_LOAD = 10,
  /* async. cd, u32 module */
  SPW_MODULE_UNLOAD = 11,
  /* SYNC. cd, u32 module, u32 name length, name -> u32 function, u32 param count, u32 param bytes,
   *       count x (u32 offset, u32 size) */
  SPW_GET_FUNCTION = 12,
  /* async. cd, u32 function, u32 grid[3], u32 block[3], u32 shared bytes, u32 param bytes, params */
  SPW_LAUNCH = 13,
  /* SYNC. cd: waits for everything the context has queued */
  SPW_SYNC = 14,
  /* SYNC. cd, u32 module, u32 name length, name -> u64 address, u64 bytes */
  SPW_GET_GLOBAL = 15,
  /* async. cd, u32 event */
  SPW_EVENT_RECORD = 16,
  /* SYNC. cd, u32 start, u32 end -> f32 milliseconds */
  SPW_EVENT_ELAPSED = 17,
  /* async. cd, u32 event */
  SPW_EVENT_DESTROY = 18,
  /* SYNC. (no payload) answered as soon as read: frees the shared memory for reuse */
  SPW_FENCE = 19,
  /* SYNC. cd -> u64 free, u64 total */
  SPW_MEM_INFO = 20,
  /* async. u32 length, text: a line for the agent's log (the unsupported calls a program made) */
  SPW_LOG = 21,
};

#endif
