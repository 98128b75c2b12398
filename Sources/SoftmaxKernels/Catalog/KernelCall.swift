// A type-erased call of a catalog kernel on row-major rows: what the catalog-driven tests and
// the benchmark need to run any kernel of a given form without naming its function.

import SoftmaxKernelsCore

/// The arguments of one catalog kernel call on `rows x columns` row-major matrices.
///
/// `input` is the forward input (or, for a backward kernel, the saved tensor the kernel takes:
/// the forward output of softmax / log-softmax, the forward input of the sigmoid family);
/// `upstream` is the gradient of the output (backward kernels only); `output` receives the
/// result (a row-reduction writes `rows` values). Elementwise kernels take the rows as one
/// vector when the strides equal the columns.
package struct KernelCall<T: KernelScalar> {
  package var rows: Int
  package var columns: Int
  package var input: UnsafeBufferPointer<T>
  package var inputRowStride: Int
  package var upstream: UnsafeBufferPointer<T>?
  package var upstreamRowStride: Int
  package var output: UnsafeMutableBufferPointer<T>
  package var outputRowStride: Int
  package var isa: ISALevel
  package var threads: Int

  package init(
    rows: Int, columns: Int, input: UnsafeBufferPointer<T>, inputRowStride: Int,
    upstream: UnsafeBufferPointer<T>? = nil, upstreamRowStride: Int = 0,
    output: UnsafeMutableBufferPointer<T>, outputRowStride: Int, isa: ISALevel, threads: Int
  ) {
    (self.rows, self.columns) = (rows, columns)
    (self.input, self.inputRowStride) = (input, inputRowStride)
    (self.upstream, self.upstreamRowStride) = (upstream, upstreamRowStride)
    (self.output, self.outputRowStride) = (output, outputRowStride)
    (self.isa, self.threads) = (isa, threads)
  }

  /// The softmax-family options of the call (defaults otherwise).
  var softmaxOptions: SoftmaxOptions { SoftmaxOptions(execution: execution) }
  /// The sigmoid-family options of the call.
  var execution: ExecutionOptions { ExecutionOptions(threads: threads, isa: isa) }
  /// The upstream gradient (a backward kernel's call always has one).
  var gradient: UnsafeBufferPointer<T> { upstream ?? UnsafeBufferPointer(start: nil, count: 0) }
}
