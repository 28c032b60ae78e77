/// The `vFile` operations gdb uses to read the target's files (the executable,
/// shared libraries) when it does not share our filesystem view.
public enum FileRequest: Hashable, Sendable {
  /// `vFile:open:pathhex,flags,mode`; flags and mode use gdb's values, not the host's.
  case open(path: String, flags: UInt64, mode: UInt64)
  /// `vFile:pread:fd,count,offset`
  case pread(fd: Int, count: Int, offset: UInt64)
  case close(fd: Int)
  case fstat(fd: Int)
  /// `vFile:setfs:pid`: later paths are resolved in that process's mount namespace;
  /// 0 means the server's own.
  case setfs(pid: Int)
  case readlink(path: String)
}
