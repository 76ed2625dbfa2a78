/*
 * The example bundle of Menagerie's yara engine, written here: rules that
 * match the samples this repository builds (test/fixtures/samples/archives:
 * marked.bin), and a generic one. Push your own with
 *   menagerie data push yara rules ./my-rules
 * A rule's meta `verdict` ("malicious" or "suspicious") sets the report's verdict.
 */

rule Menagerie_Test_Marker : test menagerie
{
    meta:
        description = "The harmless marker string of Menagerie's test samples"
        author = "Menagerie"
        verdict = "malicious"

    strings:
        $marker = "MENAGERIE-HARMLESS-TEST-MARKER-24"

    condition:
        $marker
}

rule Autorun_Registry_Key : persistence
{
    meta:
        description = "Names the registry key whose values Windows starts at logon"
        verdict = "suspicious"

    strings:
        $run = "Software\\Microsoft\\Windows\\CurrentVersion\\Run" nocase ascii wide

    condition:
        $run
}
