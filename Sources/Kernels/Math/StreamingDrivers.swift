// The loop skeleton of the streaming passes, written once.
//
// A pass is a small body type (a struct holding its pointers and broadcast constants) run by one
// of the drivers below: the driver walks the row's full vectors and then its one padded partial
// vector; the body says what to do with the vector at a slot. Bodies are structs conforming to
// a protocol, not closures: closures passed to generic helpers were seen not to be inlined into
// the loop (one call per vector, the vector split into xmm pieces), whereas a body's
// `@inline(always)` methods specialise and inline into the driver, and the driver into the pass
// (`Benchmarks/Disassembly/hot-loops.py` finds each pass's loop in the pass itself).
//
// The same body code serves the full vectors and the partial one: a slot's `read` is a plain
// load at a full slot (the pad ignored) and `loadPartial(..., pad:)` at the partial slot; its
// `write` is a store or `storePartial`.

import CSoftmaxKernelsStore
import SoftmaxKernelsCore

// MARK: - Slots

/// One vector position of a pass: a full vector, or the row's last partial vector. It reads
/// and writes rows of any storage type whose arithmetic is `T` (widened on reading, rounded
/// once on writing).
protocol VectorSlot<T> {
  associatedtype T: KernelFloat
  /// The slot's first element.
  var index: Int { get }
  /// The vector of `p` at this slot; at a partial slot the lanes past the row are `pad`.
  func read<S: KernelStorage>(_ p: UnsafePointer<S>, pad: T) -> T.Vector where S.Arithmetic == T
  /// Writes `v` to `p` at this slot (at a partial slot only the lanes inside the row).
  func write<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T
  /// `write` of a `v` without NaN lanes (`KernelStorage.storeNarrowedNonNaN`).
  func writeNonNaN<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T
}

/// A full vector at element `index`.
struct FullSlot<T: KernelFloat>: VectorSlot {
  let index: Int

  @inline(always)
  func read<S: KernelStorage>(_ p: UnsafePointer<S>, pad _: T) -> T.Vector where S.Arithmetic == T {
    load(p + index)
  }

  @inline(always)
  func write<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    store(v, p + index)
  }

  @inline(always)
  func writeNonNaN<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    S.storeNarrowedNonNaN(v, p + index)
  }
}

/// The last `valid < lanes` elements of a row, starting at element `index`.
struct PartialSlot<T: KernelFloat>: VectorSlot {
  let index: Int
  let valid: Int

  @inline(always)
  func read<S: KernelStorage>(_ p: UnsafePointer<S>, pad: T) -> T.Vector where S.Arithmetic == T {
    loadPartial(p + index, valid, pad: pad)
  }

  @inline(always)
  func write<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    storePartial(v, p + index, valid)
  }

  @inline(always)
  func writeNonNaN<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    storePartial(v, p + index, valid)
  }
}

/// A full vector at element `index` whose writes are streaming stores (`index` lies on a
/// boundary of the written pointer aligned to the vector's size in its type); it reads as a
/// `FullSlot`.
struct StreamSlot<T: KernelFloat>: VectorSlot {
  let index: Int

  @inline(always)
  func read<S: KernelStorage>(_ p: UnsafePointer<S>, pad: T) -> T.Vector where S.Arithmetic == T {
    FullSlot<T>(index: index).read(p, pad: pad)
  }

  @inline(always)
  func write<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    S.streamStoreNarrowed(v, p + index)
  }

  @inline(always)
  func writeNonNaN<S: KernelStorage>(_ v: T.Vector, _ p: UnsafeMutablePointer<S>) where S.Arithmetic == T {
    S.streamStoreNarrowedNonNaN(v, p + index)
  }
}

// MARK: - Elementwise

/// The body of an elementwise pass (`y = f(x)`, `dx = f(v, g)`, ...): reads and writes the
/// vectors at one slot. A `mutating` body may carry a running vector (a maximum) across slots.
protocol ElementwiseBody {
  associatedtype T: KernelFloat
  mutating func step(_ s: some VectorSlot<T>)
}

/// Runs `body` over the full vectors of `0..<count`, then over its padded partial vector.
@inline(always)
func forEachVector<B: ElementwiseBody>(_ count: Int, _ body: inout B) {
  let lanes = B.T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var i = 0
  while i < fullEnd {
    body.step(FullSlot<B.T>(index: i))
    i += lanes
  }
  if i < count { body.step(PartialSlot<B.T>(index: i, valid: count - i)) }
}

/// `forEachVector` for a body without state.
@inline(always)
func forEachVector<B: ElementwiseBody>(_ count: Int, _ body: B) {
  var body = body
  forEachVector(count, &body)
}

/// The elements of `destination` before its first boundary aligned to a vector of `lanes`
/// elements (at most `count`): where a pass's streaming stores start. The streaming store of a
/// vector needs the vector's own alignment: 64 bytes for Float and Double, 32 for the 16-bit
/// types (a 64-byte boundary would leave up to 31 16-bit elements before it: more than a
/// partial vector holds). A typed pointer is aligned to its element, so the boundary is a
/// whole number of elements away. `forEachVectorStreaming` and the pipelined gradient
/// (`PendingGradient`) must agree on it: both call this.
@inline(always)
func streamingHead<S>(_ count: Int, to destination: UnsafeMutablePointer<S>, lanes: Int) -> Int {
  let size = MemoryLayout<S>.stride, vectorBytes = lanes * size
  let offset = Int(bitPattern: UnsafeRawPointer(destination)) % vectorBytes
  return min(count, (vectorBytes - offset) % vectorBytes / size)
}

/// `forEachVector` for a pass whose one output `destination` leaves the cache: the full
/// vectors from the first boundary of `destination` aligned to the vector's size on are written with streaming
/// stores (no read-for-ownership of the output's lines), the elements before that boundary and
/// the last partial vector through partial slots, and a store fence closes the pass. (A vector
/// of a 16-bit type is 32 bytes, aligned to its own size as its streaming store needs.)
@inline(always)
func forEachVectorStreaming<B: ElementwiseBody, S: KernelStorage>(
  _ count: Int, to destination: UnsafeMutablePointer<S>, _ body: inout B
) where S.Arithmetic == B.T {
  let lanes = B.T.Vector.scalarCount
  let head = streamingHead(count, to: destination, lanes: lanes)
  if head > 0 { body.step(PartialSlot<B.T>(index: 0, valid: head)) }
  let fullEnd = count - (count - head) % lanes
  var i = head
  while i < fullEnd {
    body.step(StreamSlot<B.T>(index: i))
    i += lanes
  }
  if i < count { body.step(PartialSlot<B.T>(index: i, valid: count - i)) }
  softmaxkernels_store_fence()
}

/// `forEachVector`, or `forEachVectorStreaming` to `destination` when `streaming`.
@inline(always)
func forEachVector<B: ElementwiseBody, S: KernelStorage>(
  _ count: Int, _ body: B, streamingTo destination: UnsafeMutablePointer<S>, _ streaming: Bool
) where S.Arithmetic == B.T {
  var body = body
  if streaming { forEachVectorStreaming(count, to: destination, &body) } else { forEachVector(count, &body) }
}

// MARK: - Windowed sums

/// The body of a sum pass. Full vectors are added to lane accumulators in `T` by `accumulate`
/// (which may also write, or update state the body carries); each window's lane sum is added in
/// Double. The partial vector's `term` (its pad lanes neutral, or excluded by `addPartial`) is
/// added on its own.
protocol SumBody {
  associatedtype T: KernelFloat
  /// Adds the full vector at `s` to `acc` (default: `acc += term(s)`).
  mutating func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>)
  /// The vector of terms at `s` (called for the partial slot, and by the default `accumulate`).
  mutating func term(_ s: some VectorSlot<T>) -> T.Vector
  /// Adds the partial vector's terms `v` (`valid` lanes inside the row) to `total`
  /// (default: the sum of all lanes, the pad lanes being neutral).
  func addPartial(_ v: T.Vector, valid: Int, to total: inout Double)
}

extension SumBody {
  @inline(always)
  mutating func accumulate(_ acc: inout T.Vector, _ s: FullSlot<T>) {
    acc += term(s)
  }

  @inline(always)
  func addPartial(_ v: T.Vector, valid: Int, to total: inout Double) {
    total += Double(v.sum())
  }
}

/// Sums `body`'s terms over `0..<count` within windows of `windowVectors` vectors, each
/// window's lane sum added in Double, then the partial vector. `unrolled`: two accumulators,
/// the loop unrolled by two (the odd vector of a window goes to the first); otherwise one
/// accumulator (bodies whose vectors are long dependency chains, or that write).
@inline(always)
func windowSum<B: SumBody>(_ count: Int, _ body: inout B, unrolled: Bool) -> Double {
  let lanes = B.T.Vector.scalarCount
  let fullEnd = count - count % lanes
  var total = 0.0
  var i = 0
  while i < fullEnd {
    let end = windowEnd(i, fullEnd, B.T.self)
    var a0 = B.T.Vector(), a1 = B.T.Vector()
    if unrolled {
      while i + 2 * lanes <= end {
        body.accumulate(&a0, FullSlot(index: i))
        body.accumulate(&a1, FullSlot(index: i &+ lanes))
        i += 2 * lanes
      }
      if i < end {
        body.accumulate(&a0, FullSlot(index: i))
        i += lanes
      }
    } else {
      while i < end {
        body.accumulate(&a0, FullSlot(index: i))
        i += lanes
      }
    }
    total += Double((unrolled ? a0 + a1 : a0).sum())
  }
  if i < count {
    let valid = count - i
    body.addPartial(body.term(PartialSlot<B.T>(index: i, valid: valid)), valid: valid, to: &total)
  }
  return total
}

/// `windowSum` for a body without state.
@inline(always)
func windowSum<B: SumBody>(_ count: Int, _ body: B, unrolled: Bool) -> Double {
  var body = body
  return windowSum(count, &body, unrolled: unrolled)
}

/// A sum body whose partial vector's pad lanes are not neutral (`softplus(0)`, `0^p`): the
/// partial vector's `valid` lanes are added to the total one at a time in Double.
protocol LaneSummedPartial: SumBody {}

extension LaneSummedPartial {
  @inline(always)
  func addPartial(_ v: T.Vector, valid: Int, to total: inout Double) {
    for k in 0..<valid { total += Double(v[k]) }
  }
}
