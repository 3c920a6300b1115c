"""Pure decoders over registry hive files (hivex): MountedDevices, Windows version, CLUSDB. No guestfs."""

from autoverify.registry.clusdb import decode_clusdb
from autoverify.registry.hive import Hive, HiveError, open_hive
from autoverify.registry.mounted_devices import decode_mounted_devices, letters_json
from autoverify.registry.software import os_info

__all__ = ["Hive", "HiveError", "decode_clusdb", "decode_mounted_devices", "letters_json", "open_hive", "os_info"]
