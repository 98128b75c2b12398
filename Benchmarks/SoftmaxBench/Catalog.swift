// `softmax-bench --catalog`: the package's kernel catalog as JSON, read by
// Benchmarks/Disassembly/hot-loops.py (which passes to check) and by people (which workload
// measures which kernel).

import Foundation
import SoftmaxKernels

struct CatalogRecord: Codable {
  var name: String
  var form: String
  var passes: [String]
  var exponentialPasses: [String]
  var boundaryVectors: [Int]
  var workloads: [String]
}

func printCatalog(_ workloads: [Workload]) {
  let records = CatalogKernel.allCases.map { k in
    CatalogRecord(
      name: k.rawValue, form: k.form.rawValue, passes: k.passes,
      exponentialPasses: k.exponentialPasses.sorted(), boundaryVectors: CatalogKernel.boundaryVectors,
      workloads: workloads.filter { $0.kernel == k }.map(\.id))
  }
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
  print(String(decoding: try! encoder.encode(records), as: UTF8.self))
}
