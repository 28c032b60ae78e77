// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "rewind",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "rewind", targets: ["rewind"]),
    // The in-tracee system call buffer, loaded into recorded programs with LD_PRELOAD; found
    // next to the rewind executable.
    .library(name: "rewind_preload", type: .dynamic, targets: ["RewindPreload"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    .target(name: "CSupport"),
    // Plain C with no dependency of ours (it is loaded into recorded programs): linked
    // without the Swift startup object and by a linker that drops the Swift runtime the
    // driver always names (scripts/ld-as-needed), so it needs libc only.
    .target(
      name: "RewindPreload",
      linkerSettings: [
        .unsafeFlags(["-nostartfiles", "-use-ld=\(Context.packageDirectory)/scripts/ld-as-needed"])
      ]),
    .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CXXHash", providers: [.apt(["libxxhash-dev"])]),
    .systemLibrary(name: "CCapstone", providers: [.apt(["libcapstone-dev"])]),
    .target(name: "LinuxTrace", dependencies: ["CSupport"]),
    .target(name: "Syscalls", dependencies: ["CSupport"]),
    .target(name: "TraceFormat", dependencies: ["CZstd", "CXXHash"]),
    // Where a compare stub's jump fits: replay patches there, recording moves preemptions off
    // points where nothing fits.
    .target(name: "CodePatch", dependencies: ["LinuxTrace", "CCapstone"]),
    .target(name: "Recorder", dependencies: ["LinuxTrace", "Syscalls", "TraceFormat", "CSupport", "CCapstone", "CodePatch"]),
    .target(name: "Replayer", dependencies: ["LinuxTrace", "Syscalls", "TraceFormat", "CSupport", "CCapstone", "CodePatch"]),
    .target(name: "GDBRemote"),
    // elfutils' libdw/libdwfl (Debian libdw-dev): symbols, lines, inlined frames, unwinding.
    .target(name: "CDwarf", linkerSettings: [.linkedLibrary("dw"), .linkedLibrary("elf")]),
    .target(name: "Symbols", dependencies: ["CDwarf"]),
    .target(name: "Watch", dependencies: ["LinuxTrace", "Symbols", "CSupport", "CCapstone"]),
    // Whole virtual machines: QEMU's record/replay driven from rewind (command lines, VM
    // traces, QMP, QEMU's replay log). Independent of the process recorder and replayer.
    .target(name: "CVMSupport"),
    .target(name: "VirtualMachine", dependencies: ["CVMSupport", "CXXHash"]),
    .executableTarget(
      name: "rewind",
      dependencies: [
        "Recorder", "Replayer", "GDBRemote", "TraceFormat", "Syscalls", "LinuxTrace", "CSupport", "Symbols", "Watch", "VirtualMachine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .testTarget(name: "SyscallsTests", dependencies: ["Syscalls", "CSupport"]),
    .testTarget(name: "TraceFormatTests", dependencies: ["TraceFormat"]),
    .testTarget(name: "GDBRemoteTests", dependencies: ["GDBRemote"]),
    .testTarget(name: "WatchTests", dependencies: ["Watch", "Symbols"]),
    .testTarget(name: "RecorderTests", dependencies: ["Recorder", "Syscalls"]),
    .testTarget(name: "ReplayerTests", dependencies: ["Replayer", "CodePatch", "TraceFormat", "CCapstone", "LinuxTrace", "Syscalls"]),
    // Integration tests run the built `rewind` binary on C fixtures from Tests/Fixtures.
    .testTarget(name: "IntegrationTests", dependencies: ["TraceFormat"]),
    // Unit tests of the VM target, and `rewind vm` run end to end on the example guest
    // (scripts/example-guest.sh; skipped, with a message, without QEMU or the guest).
    .testTarget(name: "VirtualMachineTests", dependencies: ["VirtualMachine"]),
  ]
)
