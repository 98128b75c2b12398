// Buffers, fills and the memory roofline measured in the benchmark's own process.

import CSoftmaxKernelsStore
import Dispatch
import Foundation
import SoftmaxKernels

/// A page-touched, 64-byte aligned buffer of floats, freed explicitly.
final class FloatBuffer: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Float>
  let count: Int

  init(count: Int) {
    self.count = count
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
    pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
  }

  deinit { UnsafeMutableRawPointer(pointer).deallocate() }

  var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

  /// Fills with uniform values in [lo, hi) from a fixed seed, in parallel (first touch).
  func fillUniform(_ lo: Float, _ hi: Float, seed: UInt64, threads: Int) {
    uniformFill(pointer, count: count, lo, hi, seed: seed, threads: threads) { $0 }
  }

  func fill(_ value: Float, threads: Int) {
    let p = pointer, n = count
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      let r = chunk(n, threads, t)
      (p + r.lowerBound).initialize(repeating: value, count: r.count)
    }
  }
}

/// Fills `p[0..<count]` with uniform `Float` values in [lo, hi) from a fixed seed, each stored
/// as `convert(value)`, in parallel (first touch). The `Float` values depend only on the seed,
/// the count and the thread count, not on `T`: a 16-bit buffer holds the `Float` buffer's
/// values rounded.
func uniformFill<T>(
  _ p: UnsafeMutablePointer<T>, count n: Int, _ lo: Float, _ hi: Float, seed: UInt64, threads: Int,
  convert: (Float) -> T
) {
  DispatchQueue.concurrentPerform(iterations: threads) { t in
    var state = seed &+ UInt64(t) &* 0x9E37_79B9_7F4A_7C15
    let range = chunk(n, threads, t)
    let scale = (hi - lo) / Float(1 << 24)
    for i in range {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      p[i] = convert(lo + Float(state >> 40) * scale)
    }
  }
}

func chunk(_ n: Int, _ parts: Int, _ i: Int) -> Range<Int> {
  // 64-element aligned split.
  let per = ((n + parts - 1) / parts + 63) / 64 * 64
  let lo = min(n, i * per)
  return lo..<min(n, lo + per)
}

/// One memory access pattern of the roofline, measured by several implementations: the
/// pattern's bound is the fastest of them (a bound a kernel can beat is not a bound).
struct RooflinePattern {
  let name: String
  /// Bytes moved per element, the way the pattern's GB/s is counted.
  let bytesPerElement: Int
  /// The implementations: glibc's, our SIMD loop with ordinary stores, with streaming stores.
  let variants: [(name: String, run: RooflineRun)]
}

typealias RooflineRun = (_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>,
                         _ c: UnsafeMutablePointer<Float>, _ range: Range<Int>) -> Void

/// Reading sums into several SIMD accumulators so the adds are not the limit. With
/// `prefetchAhead` (elements), each line `prefetchAhead` elements ahead is also prefetched into
/// the level-2 cache (`prefetcht1`): a core's plain read stream is limited by the misses the
/// hardware prefetcher keeps in flight, and the row kernels that prefetch their next row read
/// faster than it (cross-entropy's loss at 2 threads reached 120% of the plain read loop).
@inline(never)
func readSum(_ a: UnsafePointer<Float>, _ range: Range<Int>, prefetchAhead: Int = 0) -> Float {
  var s0 = SIMD16<Float>(), s1 = s0, s2 = s0, s3 = s0
  var i = range.lowerBound
  while i + 64 <= range.upperBound {
    if prefetchAhead > 0 {
      for k in stride(from: 0, to: 64, by: 16) { softmaxkernels_prefetch_l2(a + i + prefetchAhead + k) }
    }
    s0 += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
    s1 += UnsafeRawPointer(a + i + 16).loadUnaligned(as: SIMD16<Float>.self)
    s2 += UnsafeRawPointer(a + i + 32).loadUnaligned(as: SIMD16<Float>.self)
    s3 += UnsafeRawPointer(a + i + 48).loadUnaligned(as: SIMD16<Float>.self)
    i += 64
  }
  var s = (s0 + s1 + s2 + s3).sum()
  while i < range.upperBound { s += a[i]; i += 1 }
  return s
}

/// `c = a + b` (`b` nil: `c = a`) over `range` with ordinary or streaming stores; the buffers
/// are 64-byte aligned and the ranges split on 64-element boundaries, so every full vector of
/// `c` is aligned. `prefetchAhead` as in `readSum`, for the inputs.
@inline(never)
func combine(
  _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, _ c: UnsafeMutablePointer<Float>, _ range: Range<Int>,
  streaming: Bool, prefetchAhead: Int = 0
) {
  var i = range.lowerBound
  while i + 16 <= range.upperBound {
    if prefetchAhead > 0 {
      softmaxkernels_prefetch_l2(a + i + prefetchAhead)
      if let b { softmaxkernels_prefetch_l2(b + i + prefetchAhead) }
    }
    var v = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
    if let b { v += UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self) }
    if streaming {
      softmaxkernels_stream_f32x16(c + i, v)
    } else {
      UnsafeMutableRawPointer(c + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }
    i += 16
  }
  while i < range.upperBound { c[i] = a[i] + (b?[i] ?? 0); i += 1 }
  if streaming { softmaxkernels_store_fence() }
}

/// `c = 0` over `range` with ordinary or streaming stores.
@inline(never)
func zero(_ c: UnsafeMutablePointer<Float>, _ range: Range<Int>, streaming: Bool) {
  var i = range.lowerBound
  let v = SIMD16<Float>()
  while i + 16 <= range.upperBound {
    if streaming {
      softmaxkernels_stream_f32x16(c + i, v)
    } else {
      UnsafeMutableRawPointer(c + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }
    i += 16
  }
  while i < range.upperBound { c[i] = 0; i += 1 }
  if streaming { softmaxkernels_store_fence() }
}

nonisolated(unsafe) var blackHole: Float = 0

/// How far ahead the "+ prefetch" roofline loops prefetch: 8 KiB. 2 KiB and 8 KiB read equally
/// fast on the Intel Xeon of 2026-11-30 (13.7 / 27.0 GB/s at 1 / 2 threads, against 11.3 / 21.9
/// without a prefetch).
///
/// The read pattern also prefetches 32 KiB and 128 KiB ahead (128 KiB: one row of W2-W6, the
/// distance of the row kernels' next-row prefetch). On that Xeon on 2026-12-02, busy neighbours,
/// two runs, GB/s at 2 threads: 8 KiB 22.7 / 17.4, 32 KiB 22.8 / 20.9, 128 KiB 21.9 / 22.0; the
/// run of 2026-12-01 23:27 had only the 8 KiB variant, read 15.8 GB/s, and cross-entropy's loss
/// (W5) 16.4: a bound the kernel beat. Reading the range as 2 or 4 streams in lockstep (more
/// misses in flight) was tried in the same runs and never the fastest (1 thread 9.2-10.5
/// against 11.3-12.0 with a prefetch): not kept.
let rooflinePrefetchAhead = 2048

let rooflinePatterns: [RooflinePattern] = [
  RooflinePattern(name: "read", bytesPerElement: 4, variants: [
    ("SIMD", { a, _, _, r in blackHole += readSum(a, r) }),
    ("SIMD + prefetch", { a, _, _, r in blackHole += readSum(a, r, prefetchAhead: rooflinePrefetchAhead) }),
    ("SIMD + prefetch 32 KiB", { a, _, _, r in blackHole += readSum(a, r, prefetchAhead: 8192) }),
    ("SIMD + prefetch 128 KiB", { a, _, _, r in blackHole += readSum(a, r, prefetchAhead: 32768) }),
  ]),
  RooflinePattern(name: "write", bytesPerElement: 4, variants: [
    ("memset", { _, _, c, r in memset(c + r.lowerBound, 0, r.count * 4) }),
    ("SIMD", { _, _, c, r in zero(c, r, streaming: false) }),
    ("SIMD streaming", { _, _, c, r in zero(c, r, streaming: true) }),
  ]),
  RooflinePattern(name: "copy", bytesPerElement: 8, variants: [
    ("memcpy", { a, _, c, r in memcpy(c + r.lowerBound, a + r.lowerBound, r.count * 4) }),
    ("SIMD", { a, _, c, r in combine(a, nil, c, r, streaming: false) }),
    ("SIMD streaming", { a, _, c, r in combine(a, nil, c, r, streaming: true) }),
    ("SIMD streaming + prefetch", { a, _, c, r in
      combine(a, nil, c, r, streaming: true, prefetchAhead: rooflinePrefetchAhead)
    }),
  ]),
  RooflinePattern(name: "2 reads + 1 write", bytesPerElement: 12, variants: [
    ("SIMD", { a, b, c, r in combine(a, b, c, r, streaming: false) }),
    ("SIMD streaming", { a, b, c, r in combine(a, b, c, r, streaming: true) }),
    ("SIMD streaming + prefetch", { a, b, c, r in
      combine(a, b, c, r, streaming: true, prefetchAhead: rooflinePrefetchAhead)
    }),
  ]),
]

/// The last-level cache size in bytes, from Linux's sysfs (largest level of cpu0), or nil.
func lastLevelCacheBytes() -> Int? {
  var best: (level: Int, bytes: Int)?
  for index in 0..<8 {
    let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)"
    guard let level = (try? String(contentsOfFile: dir + "/level", encoding: .utf8))
      .flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
      let size = try? String(contentsOfFile: dir + "/size", encoding: .utf8)
    else { continue }
    let text = size.trimmingCharacters(in: .whitespacesAndNewlines)
    let multiplier = text.hasSuffix("K") ? 1024 : text.hasSuffix("M") ? 1 << 20 : 1
    guard let value = Int(text.trimmingCharacters(in: CharacterSet.letters)) else { continue }
    if best == nil || level > best!.level { best = (level, value * multiplier) }
  }
  return best?.bytes
}

/// Bytes of memory available (Linux `MemAvailable`), or nil.
func availableMemoryBytes() -> Int? {
  guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
  for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
    let parts = line.split(separator: " ")
    if parts.count >= 2, let kib = Int(parts[1]) { return kib * 1024 }
  }
  return nil
}
