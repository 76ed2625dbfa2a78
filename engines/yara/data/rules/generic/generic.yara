/* Generic facts, informational: no verdict of their own. */

rule Embedded_URL : ioc
{
    meta:
        description = "An http or https URL in the file"

    strings:
        $url = /https?:\/\/[A-Za-z0-9.-]{3,253}(\/[!-~]{0,200})?/

    condition:
        $url
}

rule PE_Header : pe
{
    meta:
        description = "An MZ header whose e_lfanew points at a PE signature"

    condition:
        uint16(0) == 0x5A4D and uint32(uint32(0x3C)) == 0x00004550
}
