// An SVG bar chart of the results, written by the benchmark itself (no plotting dependency).

import Foundation

/// One bar group per workload (at one ISA level and thread count): a bar per algorithm, and
/// the workload's roofline bound as a dashed line across the group.
func svgChart(results: [Result], isa: String, threads: Int, title: String) -> String {
  let rows = results.filter { $0.isa == isa && $0.threads == threads }
  var workloads: [String] = []
  for r in rows where !workloads.contains(r.workload) { workloads.append(r.workload) }
  var algorithms: [String] = []
  for r in rows where !algorithms.contains(r.algorithm) { algorithms.append(r.algorithm) }
  let colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1"]
  let top = max(1, (rows.map { max($0.medianGBs, $0.boundGBs.isFinite ? $0.boundGBs : 0) }.max() ?? 1) * 1.1)
  let barWidth = 14.0, gap = 26.0, left = 56.0, plotHeight = 300.0, topMargin = 40.0
  let groupWidth = Double(max(1, algorithms.count)) * barWidth + gap
  let width = left + Double(workloads.count) * groupWidth + 170
  let height = topMargin + plotHeight + 60
  func y(_ v: Double) -> Double { topMargin + plotHeight * (1 - v / top) }
  var svg = """
    <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
    <rect width="100%" height="100%" fill="white"/>
    <text x="\(left)" y="20" font-size="13">\(escape(title))</text>

    """
  // Axis and grid.
  let step = niceStep(top / 6)
  var tick = 0.0
  while tick <= top {
    svg += "<line x1=\"\(left)\" y1=\"\(y(tick))\" x2=\"\(width - 170)\" y2=\"\(y(tick))\" stroke=\"#ddd\"/>\n"
    svg += "<text x=\"\(left - 6)\" y=\"\(y(tick) + 4)\" text-anchor=\"end\">\(format(tick))</text>\n"
    tick += step
  }
  svg += "<text x=\"14\" y=\"\(topMargin + plotHeight / 2)\" transform=\"rotate(-90 14 \(topMargin + plotHeight / 2))\" text-anchor=\"middle\">GB/s (median)</text>\n"
  for (g, w) in workloads.enumerated() {
    let x0 = left + gap / 2 + Double(g) * groupWidth
    for (a, name) in algorithms.enumerated() {
      guard let r = rows.first(where: { $0.workload == w && $0.algorithm == name }) else { continue }
      let x = x0 + Double(a) * barWidth
      svg += "<rect x=\"\(x)\" y=\"\(y(r.medianGBs))\" width=\"\(barWidth - 2)\" height=\"\(y(0) - y(r.medianGBs))\" fill=\"\(colors[a % colors.count])\"><title>\(escape(r.cell)): \(format(r.medianGBs)) GB/s</title></rect>\n"
    }
    if let bound = rows.first(where: { $0.workload == w })?.boundGBs, bound.isFinite {
      svg += "<line x1=\"\(x0 - 4)\" y1=\"\(y(bound))\" x2=\"\(x0 + Double(algorithms.count) * barWidth + 2)\" y2=\"\(y(bound))\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n"
    }
    svg += "<text x=\"\(x0 + Double(algorithms.count) * barWidth / 2)\" y=\"\(y(0) + 16)\" text-anchor=\"middle\">\(escape(w))</text>\n"
  }
  // Legend.
  let lx = width - 160
  for (a, name) in algorithms.enumerated() {
    svg += "<rect x=\"\(lx)\" y=\"\(topMargin + Double(a) * 16)\" width=\"10\" height=\"10\" fill=\"\(colors[a % colors.count])\"/>"
    svg += "<text x=\"\(lx + 14)\" y=\"\(topMargin + Double(a) * 16 + 9)\">\(escape(name == "-" ? "(single kernel)" : name))</text>\n"
  }
  let ly = topMargin + Double(algorithms.count) * 16 + 8
  svg += "<line x1=\"\(lx)\" y1=\"\(ly)\" x2=\"\(lx + 10)\" y2=\"\(ly)\" stroke=\"black\" stroke-dasharray=\"4 3\"/>"
  svg += "<text x=\"\(lx + 14)\" y=\"\(ly + 4)\">roofline bound</text>\n</svg>\n"
  return svg
}

private func escape(_ s: String) -> String {
  s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
}

private func format(_ v: Double) -> String { String(format: v < 10 ? "%.1f" : "%.0f", v) }

private func niceStep(_ raw: Double) -> Double {
  let p = pow(10, floor(log10(max(raw, 1e-9))))
  for m in [1.0, 2, 5, 10] where m * p >= raw { return m * p }
  return 10 * p
}
