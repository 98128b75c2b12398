/// The error every throwing entry point of SoftmaxKernels throws for a bad argument.
///
/// Arguments are validated before anything is written: when a call throws, its outputs are
/// untouched.
public enum SoftmaxKernelsError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Two arguments that must have the same number of elements do not.
  case countMismatch(argument: String, expected: Int, actual: Int)
  /// A buffer holds fewer elements than the shape and strides need.
  case bufferTooSmall(argument: String, required: Int, actual: Int)
  /// A row stride is smaller than the number of columns.
  case strideTooSmall(argument: String, stride: Int, columns: Int)
  /// A scalar argument is outside its domain (a negative count, zero threads, ...).
  case invalidArgument(argument: String, reason: String)
  /// `ExecutionOptions.isa` asks for a level this CPU does not support.
  case unsupportedISA(requested: ISALevel, supported: ISALevel)

  /// A one-line message that names the argument, e.g. `output has 3 elements, expected 4`.
  public var description: String {
    switch self {
    case let .countMismatch(argument, expected, actual):
      return "\(argument) has \(actual) elements, expected \(expected)"
    case let .bufferTooSmall(argument, required, actual):
      return "\(argument) holds \(actual) elements, the shape and stride need \(required)"
    case let .strideTooSmall(argument, stride, columns):
      return "\(argument) is \(stride), smaller than the \(columns) columns of a row"
    case let .invalidArgument(argument, reason):
      return "\(argument): \(reason)"
    case let .unsupportedISA(requested, supported):
      return "ISA level \(requested) requested, this CPU supports at most \(supported)"
    }
  }
}
