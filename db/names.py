"""Chinese and Mongolian names and places for generated demo data (deterministic with a seeded RNG)."""
from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
    "薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹常武乔贺"
)
GIVEN = (
    "建国 建华 国强 志强 志刚 海军 海燕 秀英 秀兰 桂英 桂兰 玉兰 玉梅 淑珍 淑华 丽娟 丽华 红梅 春梅 春燕 "
    "晓东 晓燕 晓明 文斌 文杰 文静 俊杰 俊峰 永强 永刚 永军 金山 金花 宝山 宝林 振华 振国 德明 德胜 福生 "
    "福林 满仓 占军 占海 树林 树森 雪梅 雪莲 佳怡 欣怡 子涵 浩然 宇航 思远 一鸣 子轩 雨桐 梓萱 鹏 磊 军 "
    "伟 敏 静 娟 强 勇 艳 杰 涛 明 超 霞 平 刚 芳 颖 婷 浩 斌 辉"
).split()
MONGOLIAN = (
    "巴特尔 斯琴 乌云 额尔敦 其木格 苏日娜 那仁 宝音 图雅 朝鲁 哈斯 格日勒 萨仁 阿拉坦 巴雅尔 特木尔 "
    "乌日娜 娜仁花 布仁 孟和 敖其尔 吉雅 达来 满都拉 额尔德尼 图门 呼和 毕力格 白音 乌力吉 查干 其其格"
).split()
HAN_PLACES = (
    "新胜 永丰 太平 红旗 富民 长胜 兴隆 和平 前进 东风 团结 胜利 双合 三合 大营 北沟 南湾 西营 沙梁 古城 "
    "新民 保安 黑河 白塔 金山 银河 丰收 光明 民安 五星 六合 东升 西湖 北沙 南梁 三道 四家 八里 十里 官地 "
    "王家 李家 张家 刘家 陈家 杨家 赵家 马家 石门 柳林 榆树 杏园 桃园 梨树 青山 黄土 红山 兴旺 广益 德胜 "
    "福兴 聚宝 宝山 乌素 召河 察素 善岱 塔布 台阁 沟门 哈素 大岱 白庙 平安 复兴 永安 庆丰 太和 万家 "
    "合意 顺义 新华 建设 向阳 朝阳 红星 丰裕 长青 二道 三岔 双井 大井 碱滩 沙河 柳树 榆林 杨树 泉子 西沟"
).split()
MONGOL_PLACES = (
    "巴彦 乌兰 查干 额尔敦 哈达 宝力格 塔拉 图门 乌力吉 那日 阿拉坦 宝日 呼和 希拉 满都拉 温都尔 "
    "巴音 阿木古朗 乌日图 吉日嘎朗 敖包 陶力 锡林 白音 布日都 哈日 赛罕 额尔登 朝格图 胡热图 "
    "巴润 准 伊和 巴嘎 乌兰哈达 沙巴尔 阿日 昂格 浩尧尔 苏力德 德力格尔 哈沙图 巴彦花 乌兰敖都"
).split()
PREFIXES = "东 西 南 北 前 后 新 大 小 上 下 中".split()
BLESSINGS = (
    "家乡加油！", "为家乡出一份力", "祝乡亲们生活越来越好", "一点心意，略尽绵薄之力", "支持家乡建设",
    "愿老人们吃得舒心", "孩子们好好学习", "幸福家园，共建共享", "远在外地，心系家乡", "积少成多，聚沙成塔",
)
COMPANIES = (
    "建材有限公司", "照明工程有限公司", "建筑工程有限公司", "农牧业科技有限公司", "商贸有限公司",
    "水利工程有限公司", "装饰工程有限公司", "电气设备有限公司", "物资供应站", "餐饮服务有限公司",
)


def person(rng: random.Random, mongolian_share: float = 0.15) -> str:
    if rng.random() < mongolian_share:
        return rng.choice(MONGOLIAN)
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def masked(name: str) -> str:
    """张三丰 → 张**; what a donor who consented only in part is shown as."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def place_names(rng: random.Random, count: int, mongolian_share: float) -> list[str]:
    """``count`` distinct two-to-four character place names."""
    seen: set[str] = set()
    names: list[str] = []
    while len(names) < count:
        pool = MONGOL_PLACES if rng.random() < mongolian_share else HAN_PLACES
        name = rng.choice(pool)
        if rng.random() < 0.35 or name in seen:
            name = rng.choice(PREFIXES) + name
        if name in seen:
            name += "一二三四五六七八九"[len(names) % 9]
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def company(rng: random.Random, town: str) -> str:
    return f"{town}{rng.choice(HAN_PLACES)}{rng.choice(COMPANIES)}"


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
