"""Province-level regions of China by the first two digits of a resident ID (GB/T 2260), with their names in
Chinese and English: one table for validating ID numbers, for the museum's own province setting, and for
reports of where visitors come from."""

from __future__ import annotations

#: code → (Chinese name, English name). 81, 82 and 83 begin the residence permits of Hong Kong, Macao and
#: Taiwan residents living on the mainland, which have the format of a mainland ID.
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京", "Beijing"),
    "12": ("天津", "Tianjin"),
    "13": ("河北", "Hebei"),
    "14": ("山西", "Shanxi"),
    "15": ("内蒙古", "Inner Mongolia"),
    "21": ("辽宁", "Liaoning"),
    "22": ("吉林", "Jilin"),
    "23": ("黑龙江", "Heilongjiang"),
    "31": ("上海", "Shanghai"),
    "32": ("江苏", "Jiangsu"),
    "33": ("浙江", "Zhejiang"),
    "34": ("安徽", "Anhui"),
    "35": ("福建", "Fujian"),
    "36": ("江西", "Jiangxi"),
    "37": ("山东", "Shandong"),
    "41": ("河南", "Henan"),
    "42": ("湖北", "Hubei"),
    "43": ("湖南", "Hunan"),
    "44": ("广东", "Guangdong"),
    "45": ("广西", "Guangxi"),
    "46": ("海南", "Hainan"),
    "50": ("重庆", "Chongqing"),
    "51": ("四川", "Sichuan"),
    "52": ("贵州", "Guizhou"),
    "53": ("云南", "Yunnan"),
    "54": ("西藏", "Xizang (Tibet)"),
    "61": ("陕西", "Shaanxi"),
    "62": ("甘肃", "Gansu"),
    "63": ("青海", "Qinghai"),
    "64": ("宁夏", "Ningxia"),
    "65": ("新疆", "Xinjiang"),
    "71": ("台湾", "Taiwan"),
    "81": ("香港（居住证）", "Hong Kong (residence permit)"),
    "82": ("澳门（居住证）", "Macao (residence permit)"),
    "83": ("台湾（居住证）", "Taiwan (residence permit)"),
    "91": ("境外", "Abroad"),
}


def province_name(code: str, lang: str) -> str:
    """The region's name in ``lang`` (``zh`` or anything else for English); the code itself if unknown."""
    names = PROVINCES.get(code)
    if names is None:
        return code
    return names[0] if lang.startswith("zh") else names[1]
