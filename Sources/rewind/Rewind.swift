import ArgumentParser

@main
struct Rewind: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Record a Linux program once, then replay that exact execution as often as you like.")
}
