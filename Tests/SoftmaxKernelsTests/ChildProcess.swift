// Runs one test of this bundle in a child process: for cases that may trap (a crash would end
// the whole XCTest run) and for cases that need a different environment (SOFTMAXKERNELS_ISA is
// read once per process).
//
// The parent starts this test executable again with the test's name as the filter and
// `SOFTMAXKERNELS_TESTS_CHILD=1`; child entry points skip themselves unless that is set.

import Foundation
import XCTest

enum ChildProcess {
  static let marker = "SOFTMAXKERNELS_TESTS_CHILD"

  /// True in a child started by `run`.
  static var isChild: Bool { ProcessInfo.processInfo.environment[marker] == "1" }

  struct Result {
    var status: Int32
    /// False when the child was killed by a signal (a trap is SIGILL or SIGTRAP).
    var exited: Bool
    var output: String

    var passed: Bool { exited && status == 0 }

    /// For failure messages: the test failures, and for a crash the crash line and the first
    /// stack frames with a source location (from Swift's backtracer); otherwise the last lines.
    var tail: String {
      let lines = output.split(separator: "\n").map(String.init)
      let failures = lines.filter { $0.contains(": error: ") }.prefix(12)
      let crash = lines.filter { $0.contains("Crash") || $0.contains("Fatal error") }.prefix(2)
      let frames = lines.filter {
        let t = $0.drop { $0 == " " }
        return t.first?.isNumber == true && t.contains(" in ")
      }.prefix(8).map { String($0.prefix(220)) }
      let summary = Array(failures) + Array(crash) + Array(frames)
      return (summary.isEmpty ? Array(lines.suffix(20)) : summary).joined(separator: "\n")
    }
  }

  /// Runs the test `SoftmaxKernelsTests.<testClass>/<testName>` in a child process with the
  /// extra environment `environment`; nil where this is not possible (not Linux).
  static func run(
    _ testClass: String, _ testName: String, environment: [String: String] = [:]
  ) throws -> Result? {
    #if os(Linux)
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["SoftmaxKernelsTests.\(testClass)/\(testName)"]
    var env = ProcessInfo.processInfo.environment
    env[marker] = "1"
    env["SWIFT_BACKTRACE"] = "enable=yes,interactive=no,color=no"
    // Under `swift test --sanitize=address` the child would end in a LeakSanitizer report on
    // XCTest's own allocations (and a failing exit status); leaks are still checked in the
    // parent run, whose environment is left alone.
    env["ASAN_OPTIONS"] = (env["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "detect_leaks=0"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, exited: process.terminationReason == .exit,
      output: String(decoding: data, as: UTF8.self))
    #else
    return nil
    #endif
  }

  /// Skips the calling test unless it runs in a child.
  static func requireChild() throws {
    if !isChild { throw XCTSkip("child-process entry point; run by its parent test") }
  }
}
