"""The demo museum's profile: a large national science and technology museum in Beijing (fictional, but
written as such a museum writes it), in Chinese and English."""

from __future__ import annotations

from museum.profile import ProfileInput

ZH = {
    "name": "国家科学技术馆",
    "address": "北京市朝阳区北辰东路 18 号（奥林匹克公园中心区）",
    "opening_hours": (
        "9:30–17:00，16:00 停止入馆\n"
        "周一闭馆（法定节假日除外）\n"
        "暑期（7 月 1 日至 8 月 31 日）周一照常开放，延长至 19:00，18:00 停止入馆"
    ),
    "directions": (
        "地铁：8 号线“奥林匹克公园站”B 口出，向东步行约 600 米；15 号线“奥林匹克公园站”C 口出，向东北步行约 800 米。\n"
        "公交：乘 81、82、387、430 路至“国家科学技术馆”站。\n"
        "自驾：馆区停车位有限，节假日请尽量乘坐公共交通。"
    ),
    "visiting_rules": (
        "凭预约二维码和预约时所用证件原件，经安全检查后入馆。\n"
        "请勿携带易燃易爆物品、管制刀具和宠物（导盲犬除外）；大件行李请存放在东门寄存处。\n"
        "馆内禁止吸烟，展厅内请勿饮食、奔跑打闹。\n"
        "可以动手的展品请按说明操作，其他展品请勿触摸。\n"
        "可以拍照，请勿使用闪光灯和自拍杆。"
    ),
    "what_to_bring": (
        "预约时所用的本人证件原件（居民身份证、港澳台居民来往内地通行证或护照），"
        "以及每位参观者一张预约二维码（手机出示或打印均可）。证件复印件和照片不能入馆。"
    ),
    "child_policy": (
        "14 岁以下儿童须由成人陪同入馆。\n"
        "6 岁以下儿童免票，但须与陪同成人一起实名预约。\n"
        "儿童科学乐园接待 3–10 岁儿童及其家长。"
    ),
    "senior_policy": "60 岁及以上老人免票，但须提前实名预约，入馆时出示预约所用证件。",
    "cancellation": (
        "时段开始前，可随时在“我的预约”中取消，名额将释放给其他观众；时段开始后不能取消。\n"
        "多次预约未到馆，将暂停一段时间的预约资格。"
    ),
}

EN = {
    "name": "National Science and Technology Museum",
    "address": "18 Beichen East Road, Chaoyang District, Beijing (Olympic Park central area)",
    "opening_hours": (
        "9:30–17:00, last entry 16:00\n"
        "Closed on Mondays, except on public holidays\n"
        "Summer (1 July – 31 August): open on Mondays too, until 19:00, last entry 18:00"
    ),
    "directions": (
        "Metro: Line 8 to Olympic Park, exit B, then about 600 m east on foot; or Line 15 to Olympic Park, "
        "exit C, then about 800 m north-east.\n"
        "Bus: 81, 82, 387 or 430 to the National Science and Technology Museum stop.\n"
        "By car: parking is limited; on public holidays please come by public transport."
    ),
    "visiting_rules": (
        "Show your QR ticket and the original ID document you booked with; everyone passes a security check.\n"
        "No flammable or explosive items, knives or pets (guide dogs are welcome); leave large bags at the East "
        "Gate left-luggage office.\n"
        "No smoking anywhere; no eating, drinking or running in the exhibition halls.\n"
        "Hands-on exhibits are there to be used as their signs explain; please do not touch the others.\n"
        "Photos are welcome, without flash or selfie sticks."
    ),
    "what_to_bring": (
        "The original ID document you booked with (resident ID card, Hong Kong/Macao or Taiwan travel permit, or "
        "passport), and one QR ticket per visitor, on your phone or printed. Photocopies or photos of an ID are "
        "not accepted."
    ),
    "child_policy": (
        "Children under 14 must come with an adult.\n"
        "Children under 6 enter free, but must be booked by real name together with the adult.\n"
        "The Children's Science Park is for children aged 3 to 10 and their parents."
    ),
    "senior_policy": (
        "Visitors aged 60 and over enter free, but must book in advance by real name and show the ID they booked with."
    ),
    "cancellation": (
        "You can cancel under My bookings at any time until your time slot starts; the places go back to other "
        "visitors. Once the slot has started it can no longer be cancelled.\n"
        "Repeated no-shows suspend booking for a while."
    ),
}

DEMO_PROFILE = ProfileInput(texts={"zh": ZH, "en": EN}, phone="010-6437 8000", email="visit@museum.example")
