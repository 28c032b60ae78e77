/// The x86-64 Linux target description gdb reads with `qXfer:features:read:target.xml`.
///
/// It is one self-contained document (no `xi:include`), so a single annex serves it.
/// Feature and register names are the ones gdb's amd64 validation looks for; types
/// are defined in the feature that uses them, as gdb scopes types per feature.
public enum TargetDescription {
  public static let annex = "target.xml"

  public static let xml: String = {
    var xml = """
      <?xml version="1.0"?>
      <!DOCTYPE target SYSTEM "gdb-target.dtd">
      <target version="1.0">
        <architecture>i386:x86-64</architecture>
        <osabi>GNU/Linux</osabi>

      """
    for feature in X86_64Register.Feature.allCases {
      xml += "  <feature name=\"\(feature.rawValue)\">\n"
      xml += types[feature, default: ""]
      for register in X86_64Register.all where register.feature == feature {
        xml += "    <reg name=\"\(register.name)\" bitsize=\"\(register.bitSize)\" type=\"\(register.type)\""
        xml += " regnum=\"\(register.number)\""
        if let group = register.group { xml += " group=\"\(group)\"" }
        xml += "/>\n"
      }
      xml += "  </feature>\n"
    }
    xml += "</target>\n"
    return xml
  }()

  public static var bytes: [UInt8] { Array(xml.utf8) }

  private static let types: [X86_64Register.Feature: String] = [
    .core: flags(
      "i386_eflags",
      [
        ("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9), ("DF", 10),
        ("OF", 11), ("NT", 14), ("RF", 16), ("VM", 17), ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21),
      ]),
    .sse: """
          <vector id="v4f" type="ieee_single" count="4"/>
          <vector id="v2d" type="ieee_double" count="2"/>
          <vector id="v16i8" type="int8" count="16"/>
          <vector id="v8i16" type="int16" count="8"/>
          <vector id="v4i32" type="int32" count="4"/>
          <vector id="v2i64" type="int64" count="2"/>
          <union id="vec128">
            <field name="v4_float" type="v4f"/>
            <field name="v2_double" type="v2d"/>
            <field name="v16_int8" type="v16i8"/>
            <field name="v8_int16" type="v8i16"/>
            <field name="v4_int32" type="v4i32"/>
            <field name="v2_int64" type="v2i64"/>
            <field name="uint128" type="uint128"/>
          </union>

      """
      + flags(
        "i386_mxcsr",
        [
          ("IE", 0), ("DE", 1), ("ZE", 2), ("OE", 3), ("UE", 4), ("PE", 5), ("DAZ", 6), ("IM", 7), ("DM", 8),
          ("ZM", 9), ("OM", 10), ("UM", 11), ("PM", 12), ("FZ", 15),
        ]),
  ]

  /// A 4-byte flags type with one-bit fields, as gdb's own descriptions define them.
  private static func flags(_ id: String, _ fields: [(String, Int)]) -> String {
    var text = "    <flags id=\"\(id)\" size=\"4\">\n"
    for (name, bit) in fields {
      text += "      <field name=\"\(name)\" start=\"\(bit)\" end=\"\(bit)\"/>\n"
    }
    return text + "    </flags>\n"
  }
}
