"""Aliases a real list carries, for the screening benchmarks: acronyms and non-Latin renderings.

The CSL and OpenSanctions carry an entity's acronym ("BUAA") and its name in its own script
("北京航空航天大学", "АО «…»") as alternate names; a requester writes either, or a
romanisation of the latter. This module gives the synthetic list of
``screening_quality.py`` such aliases (seeded) and makes the treated variants that use them:

  acronym        the acronym as listed, dotted (B.U.A.A.) or in lower case
  native         the Han or Cyrillic alias as listed, or with another legal form
  romanised      the Han alias in pinyin written as words ("Hefei Zhongke Guangzi Keji"), or
                 the Cyrillic one romanised with another system's choices (kh/h, zh/j, ts/c …)

The Han readings and the Cyrillic spellings are written out here by hand (not produced by
the transliteration under test), so a romanised query is independent of the matcher.
"""

from __future__ import annotations

import random
import re

# Han characters with one common reading, for the pinyin syllables of the coined names.
HAN = {
    "zhong": "中", "ke": "科", "guo": "国", "dian": "电", "xin": "信", "hua": "华", "tian": "天",
    "qi": "启", "kai": "凯", "shen": "深", "jing": "京", "yuan": "源", "heng": "恒", "tai": "泰",
    "rui": "瑞", "jia": "嘉", "long": "龙", "feng": "峰", "hai": "海", "bo": "博", "chuang": "创",
    "zhi": "智", "xun": "讯", "kang": "康", "yu": "宇", "zhuo": "卓", "ming": "明", "sheng": "盛",
    "hong": "宏", "an": "安", "da": "达", "wei": "微", "xiang": "翔", "qian": "乾", "cheng": "成",
    "tong": "通", "huan": "环", "yao": "耀", "jun": "骏",
}  # fmt: skip
HAN_CITIES = {
    "Hefei": ("合肥", "Hefei"), "Beijing": ("北京", "Beijing"), "Shanghai": ("上海", "Shanghai"),
    "Nanjing": ("南京", "Nanjing"), "Wuhan": ("武汉", "Wuhan"), "Chengdu": ("成都", "Chengdu"),
    "Shenzhen": ("深圳", "Shenzhen"), "Harbin": ("哈尔滨", "Haerbin"), "Tianjin": ("天津", "Tianjin"),
    "Guangzhou": ("广州", "Guangzhou"), "Hangzhou": ("杭州", "Hangzhou"), "Qingdao": ("青岛", "Qingdao"),
    "Kunming": ("昆明", "Kunming"), "Jinan": ("济南", "Jinan"), "Zhengzhou": ("郑州", "Zhengzhou"),
    "Suzhou": ("苏州", "Suzhou"),
}  # fmt: skip
HAN_FIELDS = {
    "Photonics": ("光子", "Guangzi"), "Optoelectronics": ("光电", "Guangdian"),
    "Microelectronics": ("微电子", "Weidianzi"), "Cryogenics": ("低温", "Diwen"),
    "Semiconductor": ("半导体", "Bandaoti"), "Navigation": ("导航", "Daohang"),
    "Instruments": ("仪器", "Yiqi"), "Electronics": ("电子", "Dianzi"), "Sensing": ("传感", "Chuangan"),
    "Materials": ("材料", "Cailiao"), "Superconducting": ("超导", "Chaodao"), "Devices": ("器件", "Qijian"),
    "Laser": ("激光", "Jiguang"), "Radar": ("雷达", "Leida"), "Communication": ("通信", "Tongxin"),
    "Computing": ("计算", "Jisuan"), "Precision Measurement": ("精密测量", "Jingmi Celiang"),
}  # fmt: skip
HAN_COMPANY = ("科技有限公司", "Keji Youxian Gongsi")
CYRILLIC = {
    "kvant": "квант", "tekh": "тех", "prom": "пром", "elektro": "электро", "mash": "маш", "khim": "хим",
    "avia": "авиа", "sibir": "сибирь", "ural": "урал", "yuzh": "юж", "zelen": "зелен", "radio": "радио",
    "opto": "опто", "kristal": "кристалл", "impuls": "импульс", "pribor": "прибор", "signal": "сигнал",
    "ferro": "ферро", "almaz": "алмаз", "vektor": "вектор", "kompozit": "композит", "tsentr": "центр",
    "zhukov": "жуков",
}  # fmt: skip
RU_FORMS = {"JSC": "АО", "Joint Stock Company": "Акционерное общество", "OOO": "ООО"}
RU_OTHER_FORMS = ["АО", "ПАО", "ООО", "Акционерное общество"]
# One romanisation system's choices; the listed Latin names follow another.
ROMANISE = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh|j", "з": "z", "и": "i",
    "й": "y|i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "f", "х": "kh|h", "ц": "ts|c", "ч": "ch", "ш": "sh", "ь": "|'",
    "ы": "y", "э": "e", "ю": "yu|iu", "я": "ya|ia",
}  # fmt: skip
_SPLIT_PINYIN = re.compile("|".join(sorted(HAN, key=len, reverse=True)))


def _han_coined(coined: str) -> str | None:
    syllables = _SPLIT_PINYIN.findall(coined.lower())
    return "".join(HAN[s] for s in syllables) if "".join(syllables) == coined.lower() else None


def _cyrillic(coined: str) -> str | None:
    lower = coined.lower()
    for a in CYRILLIC:
        if lower.startswith(a) and lower[len(a) :] in CYRILLIC:
            word = CYRILLIC[a] + CYRILLIC[lower[len(a) :]]
            return word[0].upper() + word[1:]
    return None


def acronym(name: str) -> str:
    skip = {"Co.", "Ltd.", "LLC", "JSC", "OOO", "Limited"}
    words = [w for w in re.split(r"[\s,]+", name) if w[:1].isascii() and w[:1].isupper() and w not in skip]
    return "".join(w[0] for w in words)[:6]


def add_aliases(rng: random.Random, row: dict[str, str], parts: dict[str, str]) -> None:
    """Give ``row`` (CSL CSV layout) an acronym and a native-script alias where its parts allow."""
    aliases = [a for a in row.get("alt_names", "").split("; ") if a]
    if parts and rng.random() < 0.25 and len(acronym(row["name"])) >= 3:
        aliases.append(acronym(row["name"]))
    native = None
    if parts.get("kind") == "cn_company" and rng.random() < 0.5:
        coined = _han_coined(parts["coined"])
        city, field = HAN_CITIES.get(parts["city"]), HAN_FIELDS.get(parts["field"])
        if coined and city and field:
            native = f"{city[0]}{coined}{field[0]}{HAN_COMPANY[0]}"
            row["_romanised"] = f"{city[1]} {parts['coined']} {field[1]} {HAN_COMPANY[1]}"
    elif parts.get("kind") == "ru" and rng.random() < 0.5:
        word = _cyrillic(parts["coined"])
        if word:
            native = f"{RU_FORMS.get(parts['form'], 'АО')} «{word}»"
            row["_native_word"] = word
    if native:
        aliases.append(native)
        row["_native"] = native
    row["alt_names"] = "; ".join(aliases)


def _romanise_cyrillic(rng: random.Random, word: str) -> str:
    out = []
    for ch in word:
        choice = ROMANISE.get(ch.lower())
        if choice is None:
            out.append(ch)
            continue
        picked = rng.choice(choice.split("|"))
        out.append(picked.capitalize() if ch.isupper() else picked)
    return "".join(out)


def alias_variant(rng: random.Random, row: dict[str, str], kind: str) -> str:
    """A treated variant of ``row``'s acronym or native alias ("" when it has none)."""
    aliases = [a for a in row.get("alt_names", "").split("; ") if a]
    if kind == "acronym":
        short = [a for a in aliases if a.isupper() and a.isalpha() and len(a) <= 6]
        if not short:
            return ""
        a = short[0]
        return rng.choice([a, ".".join(a) + ".", a.lower()])
    native = row.get("_native")
    if not native:
        return ""
    if kind == "native":
        if "_native_word" in row and rng.random() < 0.5:
            return f"{rng.choice(RU_OTHER_FORMS)} {row['_native_word']}"
        return native
    if "_romanised" in row:
        return row["_romanised"]
    return f"{rng.choice(['AO', 'OAO', 'ZAO', 'JSC'])} {_romanise_cyrillic(rng, row['_native_word'])}"


ALIAS_KINDS = ("acronym", "native", "romanised")

__all__ = ["ALIAS_KINDS", "acronym", "add_aliases", "alias_variant"]
