import CSupport
import Glibc

/// Starts a program under ptrace, stopped before its exec.
public enum TraceeSpawner {
  /// Forks a child that disables ASLR, pins itself to `cpu`, traps RDTSC, asks to be traced,
  /// stops itself with SIGSTOP and then execs `path`. Returns the child's pid; the caller
  /// waits for the SIGSTOP. If exec fails, the child writes its errno to `errorPipe` (when
  /// given) and exits 127 (ENOENT) or 126.
  public static func spawn(
    path: String, arguments: [String], environment: [String], cpu: Int32?, standardInput: Int32? = nil,
    disableCoreDumps: Bool = false, bindMounts: [(source: String, target: String)] = [], errorPipe: Int32? = nil,
    ignoredSignals: UInt64? = nil, syscallBufferFilter: Bool = false
  ) throws(Errno) -> Int32 {
    let child = withCStringArray(arguments) { argv in
      withCStringArray(environment) { envp in
        withCStringArray(bindMounts.map(\.source)) { sources in
          withCStringArray(bindMounts.map(\.target)) { targets in
            path.withCString { path in
              sources.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: bindMounts.count + 1) { sources in
                targets.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: bindMounts.count + 1) { targets in
                  var options = rewind_spawn_options(
                    path: path, argv: argv, envp: envp, cwd: nil, cpu: cpu ?? -1, trap_rdtsc: 1,
                    stdin_fd: standardInput ?? -1, stdout_fd: -1, stderr_fd: -1, new_process_group: 0,
                    disable_core_dumps: disableCoreDumps ? 1 : 0, bind_sources: sources, bind_targets: targets,
                    set_ignored_signals: ignoredSignals == nil ? 0 : 1, ignored_signals: ignoredSignals ?? 0,
                    syscall_buffer_filter: syscallBufferFilter ? 1 : 0)
                  return rewind_spawn_traced(&options, errorPipe ?? -1)
                }
              }
            }
          }
        }
      }
    }
    if child < 0 { throw Errno(rawValue: -child) }
    return child
  }
}

/// Runs `body` with a NULL-terminated C array of the strings (argv, envp).
public func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
  var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
  pointers.append(nil)
  defer { for p in pointers { free(p) } }
  return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// `0x7ffff7fc3000`.
public func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Whether two byte arrays hold the same bytes (memcmp: code windows of 32 KiB are compared
/// at every code point of a hot loop).
public func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
  a.count == b.count && (a.isEmpty || a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } })
}

/// Writes a message to stderr with write(2); the tracer's messages must not wait on stdio locks.
public func printToStandardError(_ message: String) {
  var bytes = Array(message.utf8)
  if bytes.last != 0x0a { bytes.append(0x0a) }
  var done = 0
  while done < bytes.count {
    let r = bytes.withUnsafeBytes { write(2, $0.baseAddress! + done, bytes.count - done) }
    if r <= 0 { return }
    done += r
  }
}

/// A pipe whose ends close on exec.
public func makeCloseOnExecPipe() throws(Errno) -> (read: Int32, write: Int32) {
  var ends: [Int32] = [-1, -1]
  guard pipe(&ends) == 0 else { throw Errno.current }
  _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
  _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
  return (ends[0], ends[1])
}
