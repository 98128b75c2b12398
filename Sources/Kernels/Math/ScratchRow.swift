// Scratch rows: intermediate values of one row, per call and per thread.

/// A scratch row of `count` values of `T` when `condition` holds, else `nil`: uninitialised,
/// 64-byte aligned, never `nil` when `condition` holds (also for `count == 0`), to be freed
/// with `deallocate()` by the caller.
///
/// Every kernel that keeps a row's intermediate values (exponentials, soft-capped logits, chain
/// factors, Float values of a 16-bit output) allocates them here, once per call and thread, and
/// never shares them: no global state, and thread safety by construction. 64 bytes is a zmm
/// vector and a cache line on every x86-64 and Apple CPU: the passes' full-vector loads and
/// stores never split a line, and a pass may write the row with aligned (non-temporal) stores.
/// Complexity: one allocation; O(1) time, `count` values of memory.
@inline(__always)
func scratchRow<T>(_ count: Int, if condition: Bool = true) -> UnsafeMutablePointer<T>? {
  guard condition else { return nil }
  return UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
    .bindMemory(to: T.self, capacity: count)
}
