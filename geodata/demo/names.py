"""Chinese names and labels of the demo: streets, compounds, people, sites, devices and
incident categories."""

from __future__ import annotations

import numpy as np

_CN = "零一二三四五六七八九十"
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_H_STREETS = "建军 人民 青年 大庆 新都 毓龙 文港 戴庄 双元 盐马 黄海 范公".split()
_V_STREETS = "开放 解放 迎宾 通榆 世纪 希望 新洋 宝龙 亭湖 五星 先锋 文峰".split()
_COMPOUNDS = (
    "万户新村 先锋新村 文峰小区 五星小区 建军新村 大庆新村 青年新村 盐中新村 英才小区 "
    "双元新村 松竹园 银都小区 毓龙新村 园丁新村 怡园小区 新都小区 红星小区 金港花园 "
    "民主新村 东进新村 迎宾花园 锦绣家园 聚龙湖小区 钱江方洲"
).split()
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶"
    "程魏苏吕"
)  # most common first
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩凯鹏辉婷雪梅琳晨阳"
    "燕飞海波峰亮兵俊鑫"
)
_SITE_PREFIXES = "万户 亭湖 新洋 文峰 先锋 五星 大庆 毓龙 青墩 黄海 建军 聚龙 东进 盐渎".split()
_SITE_NAMES = {
    "hospital": ("{}社区卫生服务中心", "{}医院", "{}中医诊所"),
    "school": ("{}小学", "{}初级中学", "{}实验学校"),
    "kindergarten": ("{}幼儿园", "{}实验幼儿园", "{}双语幼儿园"),
    "mall": ("{}购物中心", "{}商业广场", "{}超市"),
    "nightlife": ("{}KTV", "{}酒吧", "{}足浴会所", "{}烧烤城"),
    "market": ("{}农贸市场", "{}菜市场"),
    "hotel": ("{}快捷酒店", "{}宾馆", "{}大酒店"),
    "enterprise": ("盐城{}物业服务有限公司", "盐城{}科技有限公司", "{}物流有限公司"),
    "bank": ("工商银行{}支行", "农商银行{}支行", "建设银行{}分理处", "邮储银行{}营业所"),
    "internet_cafe": ("{}网咖", "{}网吧"),
}
_DEVICE_LABELS = {
    "camera": "高清摄像机",
    "checkpoint": "治安卡口",
    "alarm_post": "一键报警柱",
    "loudspeaker": "广播喇叭",
}

# Incident categories and their shares among everyday calls, and those of calls around sites.
_CATEGORIES = {
    "纠纷": 0.17,
    "求助": 0.16,
    "交通事故": 0.11,
    "噪音扰民": 0.08,
    "盗窃": 0.08,
    "电动车被盗": 0.08,
    "可疑情况": 0.07,
    "诈骗": 0.04,
    "打架斗殴": 0.04,
    "走失": 0.03,
    "醉酒滋事": 0.03,
    "火警": 0.02,
    "其他": 0.09,
}
_NIGHT_CATEGORIES = {"打架斗殴": 0.3, "醉酒滋事": 0.3, "纠纷": 0.25, "噪音扰民": 0.15}
_MARKET_CATEGORIES = {"盗窃": 0.4, "纠纷": 0.35, "交通事故": 0.25}
_HOTSPOT_THEMES = ("电动车被盗", "盗窃", "纠纷", "诈骗")
_REPEAT_THEMES = ("纠纷", "噪音扰民", "求助", "可疑情况")


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese personal names: common surnames more often, one or two given characters."""
    w = 1 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
    surnames = np.array(list(_SURNAMES), dtype=object)[rng.choice(len(_SURNAMES), n, p=w / w.sum())]
    given = np.array(list(_GIVEN), dtype=object)
    second = np.where(rng.random(n) < 0.65, given[rng.integers(len(given), size=n)], "")
    return surnames + given[rng.integers(len(given), size=n)] + second
