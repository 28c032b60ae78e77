import Foundation

extension VMTrace {
  /// `rewind pack` on a VM trace: the kernel and initrd are already copies; a disk overlay's
  /// backing image is copied in (as `disk-base.<format>`) and the overlay pointed at it by a
  /// relative name, so the directory replays anywhere. Returns what was done.
  public func pack(qemu: QEMUInstallation) throws -> String {
    try checkFiles()
    guard var disk = header.configuration.disk, let backing = disk.backingFile, backing.hasPrefix("/"), let format = disk.backingFormat else {
      return "packed \(directory): already self-contained (kernel, initrd\(header.configuration.disk == nil ? "" : ", disk") and replay log are in it)"
    }
    try checkDiskBacking()
    let name = "disk-base.\(format)"
    let copy = directory + "/" + name
    try copyFile(backing, to: copy)
    try runTool([qemu.image, "rebase", "-u", "-b", name, "-F", format, directory + "/disk.qcow2"], what: "point the overlay at the copied disk")
    let attributes = try FileManager.default.attributesOfItem(atPath: copy)
    disk.backingFile = name
    disk.backingSize = (attributes[.size] as? NSNumber)?.uint64Value
    disk.backingModified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
    var newHeader = header
    newHeader.configuration.disk = disk
    try Self.writeJSON(newHeader, to: directory + "/" + Self.headerName)
    return "packed \(directory): copied the disk image \(backing) into it as \(name); it can be copied anywhere and replayed there"
  }

  /// Refuses a disk overlay whose backing image is gone or changed since it was recorded
  /// (size or modification time): the guest would read other data.
  public func checkDiskBacking() throws {
    guard let disk = header.configuration.disk, let backing = diskBackingPath else { return }
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: backing) else {
      throw VMError(.badTrace, "the disk image '\(backing)' the trace's overlay is over is gone; restore it (or record again, and `rewind pack` the trace to keep a copy in it)")
    }
    let size = (attributes[.size] as? NSNumber)?.uint64Value
    let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
    if size != disk.backingSize || modified.map({ abs($0 - (disk.backingModified ?? 0)) > 0.001 }) == true {
      throw VMError(.badTrace, "the disk image '\(backing)' changed since it was recorded (size or modification time); the guest would read other data. Restore it, or record again (`rewind pack` keeps a copy in the trace)")
    }
  }

  /// The path of the disk overlay's backing image (relative names are the trace's own).
  public var diskBackingPath: String? {
    guard let backing = header.configuration.disk?.backingFile else { return nil }
    return backing.hasPrefix("/") ? backing : directory + "/" + backing
  }
}
