package sandbox

// The catalogue is generated from these compact tables (see catalogue.go):
// every model is listed by every shop whose selectors match its brand and
// kind, each shop at its own prices. Prices are wholesale yuan for a new,
// sealed, mainland-China (国行) unit; the options string is "label=yuan|...",
// the colours string "colour|...".

type brand struct {
	key   string // selector key
	label string // as written in titles: "Apple/苹果"
	words string // extra search words
}

var brands = map[string]brand{
	"apple":   {"apple", "Apple/苹果", "apple 苹果"},
	"huawei":  {"huawei", "Huawei/华为", "huawei 华为"},
	"honor":   {"honor", "HONOR/荣耀", "honor 荣耀"},
	"xiaomi":  {"xiaomi", "Xiaomi/小米", "xiaomi 小米 mi"},
	"redmi":   {"redmi", "Redmi/红米", "redmi 红米 小米 xiaomi"},
	"oppo":    {"oppo", "OPPO", "oppo 欧珀"},
	"vivo":    {"vivo", "vivo", "vivo 维沃"},
	"samsung": {"samsung", "Samsung/三星", "samsung 三星"},
	"lenovo":  {"lenovo", "Lenovo/联想", "lenovo 联想"},
	"dell":    {"dell", "Dell/戴尔", "dell 戴尔"},
	"sony":    {"sony", "Sony/索尼", "sony 索尼"},
	"anker":   {"anker", "Anker/安克", "anker 安克"},
	"baseus":  {"baseus", "Baseus/倍思", "baseus 倍思"},
	"ugreen":  {"ugreen", "UGREEN/绿联", "ugreen 绿联"},
	"romoss":  {"romoss", "ROMOSS/罗马仕", "romoss 罗马仕"},
	"generic": {"generic", "", ""},
}

// kind is what a model is: a device category or an accessory type.
type kind struct {
	category string // the sdk category, or "accessory"
	name     string // Chinese category name, as in item_get's "category"
	unit     string // 台, 个, 副 ...
	words    string // extra search words
}

var kinds = map[string]kind{
	"phone":     {"phone", "手机", "台", "手机 phone smartphone 5g 全网通"},
	"tablet":    {"tablet", "平板电脑", "台", "平板 平板电脑 tablet pad"},
	"laptop":    {"laptop", "笔记本电脑", "台", "笔记本 笔记本电脑 电脑 laptop notebook"},
	"watch":     {"watch", "智能手表", "块", "手表 智能手表 watch smartwatch 穿戴"},
	"earphones": {"earphones", "耳机", "副", "耳机 蓝牙耳机 无线耳机 earphones earbuds headphones"},
	"charger":   {"accessory", "充电器", "个", "配件 充电器 充电头 charger adapter"},
	"cable":     {"accessory", "数据线", "条", "配件 数据线 充电线 cable"},
	"powerbank": {"accessory", "移动电源", "个", "配件 充电宝 移动电源 power bank powerbank"},
	"case":      {"accessory", "手机壳", "个", "配件 手机壳 保护壳 保护套 case cover"},
	"film":      {"accessory", "钢化膜", "片", "配件 钢化膜 贴膜 手机膜 screen protector"},
	"pencil":    {"accessory", "手写笔", "支", "配件 手写笔 触控笔 stylus pencil"},
}

// model is one row of the catalogue: a product every matching shop lists.
type model struct {
	brand   string // key of brands
	name    string // model name as in the title: "iPhone 15 Pro"
	kind    string // key of kinds
	optKey  string // the SKU property the options vary: 存储容量, 版本, 配置, 尺寸, 规格, 适用型号
	opts    string // "label=yuan|label=yuan"
	colours string // "colour|colour"; empty when there is no colour choice
	suffix  string // the rest of the title
}

const (
	iphoneSuffix = "全网通5G手机 国行正品"
	phoneSuffix  = "全网通5G智能手机"
)

var models = []model{
	// Apple phones.
	{"apple", "iPhone SE 3", "phone", "存储容量", "64GB=2599|128GB=2999|256GB=3799", "午夜色|星光色|红色", iphoneSuffix},
	{"apple", "iPhone 13", "phone", "存储容量", "128GB=3599|256GB=4199|512GB=5399", "午夜色|星光色|蓝色|粉色|红色", iphoneSuffix},
	{"apple", "iPhone 14", "phone", "存储容量", "128GB=4299|256GB=5099|512GB=6499", "午夜色|星光色|蓝色|紫色|红色", iphoneSuffix},
	{"apple", "iPhone 14 Plus", "phone", "存储容量", "128GB=4799|256GB=5599|512GB=6999", "午夜色|星光色|蓝色|紫色|红色", iphoneSuffix},
	{"apple", "iPhone 14 Pro", "phone", "存储容量", "128GB=5999|256GB=6799|512GB=8199|1TB=9599", "暗紫色|金色|银色|深空黑色", iphoneSuffix},
	{"apple", "iPhone 14 Pro Max", "phone", "存储容量", "128GB=6799|256GB=7599|512GB=8999|1TB=10399", "暗紫色|金色|银色|深空黑色", iphoneSuffix},
	{"apple", "iPhone 15", "phone", "存储容量", "128GB=4899|256GB=5699|512GB=7299", "黑色|蓝色|绿色|黄色|粉色", iphoneSuffix},
	{"apple", "iPhone 15 Plus", "phone", "存储容量", "128GB=5499|256GB=6299|512GB=7899", "黑色|蓝色|绿色|黄色|粉色", iphoneSuffix},
	{"apple", "iPhone 15 Pro", "phone", "存储容量", "128GB=6499|256GB=7299|512GB=8799|1TB=10299", "原色钛金属|蓝色钛金属|白色钛金属|黑色钛金属", iphoneSuffix},
	{"apple", "iPhone 15 Pro Max", "phone", "存储容量", "256GB=7999|512GB=9499|1TB=10999", "原色钛金属|蓝色钛金属|白色钛金属|黑色钛金属", iphoneSuffix},
	{"apple", "iPhone 16", "phone", "存储容量", "128GB=5399|256GB=6199|512GB=7799", "黑色|白色|粉色|深青色|群青色", iphoneSuffix},
	{"apple", "iPhone 16 Plus", "phone", "存储容量", "128GB=6199|256GB=6999|512GB=8599", "黑色|白色|粉色|深青色|群青色", iphoneSuffix},
	{"apple", "iPhone 16 Pro", "phone", "存储容量", "128GB=7299|256GB=8099|512GB=9699|1TB=11299", "沙漠色钛金属|原色钛金属|白色钛金属|黑色钛金属", iphoneSuffix},
	{"apple", "iPhone 16 Pro Max", "phone", "存储容量", "256GB=8799|512GB=10399|1TB=11999", "沙漠色钛金属|原色钛金属|白色钛金属|黑色钛金属", iphoneSuffix},
	{"apple", "iPhone 16e", "phone", "存储容量", "128GB=4099|256GB=4899|512GB=6499", "黑色|白色", iphoneSuffix},
	// Huawei phones.
	{"huawei", "Mate 60", "phone", "版本", "12GB+256GB=4999|12GB+512GB=5499", "雅川青|白沙银|南糯紫|雅丹黑", phoneSuffix},
	{"huawei", "Mate 60 Pro", "phone", "版本", "12GB+256GB=5999|12GB+512GB=6499|12GB+1TB=7499", "雅川青|白沙银|南糯紫|雅丹黑", phoneSuffix},
	{"huawei", "Mate 60 Pro+", "phone", "版本", "16GB+512GB=8499|16GB+1TB=9499", "砚黑|宣白", phoneSuffix},
	{"huawei", "Mate 70", "phone", "版本", "12GB+256GB=5199|12GB+512GB=5699", "曜石黑|雪域白|云杉绿|风信紫", phoneSuffix},
	{"huawei", "Mate 70 Pro", "phone", "版本", "12GB+256GB=6299|12GB+512GB=6799|16GB+1TB=7799", "曜石黑|雪域白|云杉绿|风信紫", phoneSuffix},
	{"huawei", "Mate X5", "phone", "版本", "12GB+256GB=11499|16GB+512GB=12499", "羽砂黑|羽砂白|青山黛", "折叠屏手机"},
	{"huawei", "P60", "phone", "版本", "8GB+256GB=3999|8GB+512GB=4499", "羽砂黑|翡冷翠|洛可可白", "4G智能手机"},
	{"huawei", "P60 Pro", "phone", "版本", "8GB+256GB=5199|12GB+512GB=5999", "羽砂黑|翡冷翠|洛可可白", "4G智能手机"},
	{"huawei", "Pura 70", "phone", "版本", "12GB+256GB=4999|12GB+512GB=5499", "羽砂黑|雪域白|冰晶蓝|樱玫红", phoneSuffix},
	{"huawei", "Pura 70 Pro", "phone", "版本", "12GB+256GB=6199|12GB+512GB=6699", "羽砂黑|雪域白|罗兰紫", phoneSuffix},
	{"huawei", "nova 12", "phone", "版本", "8GB+256GB=2499|12GB+512GB=2899", "曜金黑|樱语白|12号色|烟云灰", phoneSuffix},
	{"huawei", "nova 13 Pro", "phone", "版本", "12GB+256GB=3399|12GB+512GB=3799", "星耀黑|洛登绿|羽砂紫", phoneSuffix},
	// Honor phones.
	{"honor", "Magic6 Pro", "phone", "版本", "12GB+256GB=4999|16GB+512GB=5499", "绒黑色|祁连雪|海湖青", phoneSuffix},
	{"honor", "Magic7 Pro", "phone", "版本", "12GB+256GB=5299|16GB+512GB=5799", "绒黑色|月影灰|天际蓝", phoneSuffix},
	{"honor", "Magic V3", "phone", "版本", "12GB+256GB=8499|16GB+512GB=9199", "绒黑色|苔原绿|祁连雪", "折叠屏手机"},
	{"honor", "Honor 200", "phone", "版本", "12GB+256GB=2499|16GB+512GB=2899", "绒黑色|月影白|天海青", phoneSuffix},
	{"honor", "X50", "phone", "版本", "8GB+256GB=1299|12GB+256GB=1499", "典雅黑|燃橙色|雨后初晴", phoneSuffix},
	// Xiaomi and Redmi phones.
	{"xiaomi", "Xiaomi 14", "phone", "版本", "12GB+256GB=3699|16GB+512GB=4199|16GB+1TB=4799", "黑色|白色|岩石青|雪山粉", phoneSuffix},
	{"xiaomi", "Xiaomi 14 Pro", "phone", "版本", "12GB+256GB=4499|16GB+512GB=4999", "黑色|白色|岩石青", phoneSuffix},
	{"xiaomi", "Xiaomi 14 Ultra", "phone", "版本", "12GB+256GB=5699|16GB+512GB=6199|16GB+1TB=6899", "黑色|白色|龙晶蓝", phoneSuffix},
	{"xiaomi", "Xiaomi 15", "phone", "版本", "12GB+256GB=4199|16GB+512GB=4699", "黑色|白色|浅绿色|丁香紫", phoneSuffix},
	{"xiaomi", "Xiaomi 15 Pro", "phone", "版本", "12GB+256GB=5099|16GB+512GB=5599", "黑色|白色|岩石灰|亮银版", phoneSuffix},
	{"xiaomi", "MIX Fold 4", "phone", "版本", "12GB+256GB=8499|16GB+512GB=9199", "黑色|白色|蓝色", "折叠屏手机"},
	{"redmi", "K70", "phone", "版本", "12GB+256GB=2199|16GB+512GB=2599", "墨羽|晴雪|浅茄紫|竹月蓝", phoneSuffix},
	{"redmi", "K70 Pro", "phone", "版本", "12GB+256GB=3099|16GB+512GB=3499", "墨羽|晴雪|浅茄紫|竹月蓝", phoneSuffix},
	{"redmi", "K80 Pro", "phone", "版本", "12GB+256GB=3599|16GB+512GB=3999", "雪岩白|山峦青|玄夜黑", phoneSuffix},
	{"redmi", "Note 13 Pro", "phone", "版本", "8GB+256GB=1399|12GB+256GB=1599|12GB+512GB=1799", "子夜黑|浅梦空间|时光蓝|镜瓷白", phoneSuffix},
	{"redmi", "Turbo 3", "phone", "版本", "12GB+256GB=1799|16GB+512GB=2099", "墨晶|青刃|冰钛", phoneSuffix},
	{"redmi", "13C", "phone", "版本", "4GB+128GB=599|8GB+256GB=799", "星岩黑|星沙绿|星河蓝", phoneSuffix},
	// OPPO and vivo phones.
	{"oppo", "Find X7", "phone", "版本", "12GB+256GB=3799|16GB+512GB=4299", "大漠银月|烟云紫|星夜黑|海阔天空", phoneSuffix},
	{"oppo", "Find X7 Ultra", "phone", "版本", "12GB+256GB=5499|16GB+512GB=6199", "大漠银月|松影墨韵|海阔天空", phoneSuffix},
	{"oppo", "Find X8", "phone", "版本", "12GB+256GB=4099|16GB+512GB=4599", "星野黑|浮光白|追风灰|气泡粉", phoneSuffix},
	{"oppo", "Find X8 Pro", "phone", "版本", "12GB+256GB=5099|16GB+512GB=5699", "星野黑|云朵白|天空蓝", phoneSuffix},
	{"oppo", "Find N3", "phone", "版本", "16GB+512GB=9499|16GB+1TB=10499", "潜航黑|千帆白|赤壁丹霞", "折叠屏手机"},
	{"oppo", "Reno11", "phone", "版本", "12GB+256GB=2299|12GB+512GB=2599", "月光宝石|萤石青|曜石黑", phoneSuffix},
	{"oppo", "Reno12 Pro", "phone", "版本", "12GB+256GB=2999|12GB+512GB=3299", "千禧银|乌木黑|香芋紫", phoneSuffix},
	{"vivo", "X100", "phone", "版本", "12GB+256GB=3599|16GB+512GB=4099", "辰夜黑|白月光|落日橙|星迹蓝", phoneSuffix},
	{"vivo", "X100 Pro", "phone", "版本", "12GB+256GB=4599|16GB+512GB=4999", "辰夜黑|白月光|落日橙|星迹蓝", phoneSuffix},
	{"vivo", "X100 Ultra", "phone", "版本", "12GB+256GB=6099|16GB+512GB=6599", "深空灰|白月光|钛色", phoneSuffix},
	{"vivo", "X200", "phone", "版本", "12GB+256GB=3999|16GB+512GB=4499", "夜黑|白月光|宝石蓝|钛色", phoneSuffix},
	{"vivo", "X200 Pro", "phone", "版本", "12GB+256GB=4999|16GB+512GB=5599", "辰夜黑|白月光|蓝调时刻|钛色", phoneSuffix},
	{"vivo", "X Fold3 Pro", "phone", "版本", "16GB+512GB=9199|16GB+1TB=10199", "薄翼黑|轻羽白", "折叠屏手机"},
	{"vivo", "S19", "phone", "版本", "8GB+256GB=2499|12GB+512GB=2899", "烟雨青|松烟墨|桃花扇", phoneSuffix},
	// Samsung phones.
	{"samsung", "Galaxy S23", "phone", "版本", "8GB+256GB=3999|8GB+512GB=4499", "悠野绿|羽梦白|曜夜黑|浮柔紫", phoneSuffix},
	{"samsung", "Galaxy S24", "phone", "版本", "8GB+256GB=4999|8GB+512GB=5499", "水墨黑|秘矿紫|雅岩灰|琥珀黄", phoneSuffix},
	{"samsung", "Galaxy S24+", "phone", "版本", "12GB+256GB=5999|12GB+512GB=6499", "水墨黑|秘矿紫|雅岩灰|琥珀黄", phoneSuffix},
	{"samsung", "Galaxy S24 Ultra", "phone", "版本", "12GB+256GB=7999|12GB+512GB=8799|12GB+1TB=10299", "钛黑|钛灰|钛紫|钛黄", phoneSuffix},
	{"samsung", "Galaxy S25 Ultra", "phone", "版本", "12GB+256GB=8699|12GB+512GB=9499|16GB+1TB=10999", "钛影黑|钛雾银|钛川蓝|钛泽灰", phoneSuffix},
	{"samsung", "Galaxy Z Fold5", "phone", "版本", "12GB+256GB=10999|12GB+512GB=11999", "冰萃蓝|冰雾灰|冰川白", "折叠屏手机"},
	{"samsung", "Galaxy Z Fold6", "phone", "版本", "12GB+256GB=11999|12GB+512GB=12999", "星夜银|星际蓝|星河粉", "折叠屏手机"},
	{"samsung", "Galaxy Z Flip5", "phone", "版本", "8GB+256GB=5499|8GB+512GB=5999", "冰萃蓝|冰雾灰|冰川白|薄荷绿", "折叠屏手机"},
	{"samsung", "Galaxy Z Flip6", "phone", "版本", "12GB+256GB=6499|12GB+512GB=6999", "蓝色|银色|绿色|黄色", "折叠屏手机"},

	// Tablets.
	{"apple", "iPad 10 第十代", "tablet", "存储容量", "64GB=2599|256GB=3599", "蓝色|粉色|黄色|银色", "10.9英寸 WLAN版 平板电脑"},
	{"apple", "iPad 11英寸 A16", "tablet", "存储容量", "128GB=2799|256GB=3499|512GB=4999", "蓝色|粉色|黄色|银色", "WLAN版 平板电脑"},
	{"apple", "iPad mini 7 A17 Pro", "tablet", "存储容量", "128GB=3499|256GB=4299|512GB=5899", "深空灰色|蓝色|紫色|星光色", "8.3英寸 WLAN版 平板电脑"},
	{"apple", "iPad Air 11英寸 M2", "tablet", "存储容量", "128GB=4099|256GB=4899|512GB=6399|1TB=7899", "深空灰色|星光色|紫色|蓝色", "WLAN版 平板电脑"},
	{"apple", "iPad Air 13英寸 M2", "tablet", "存储容量", "128GB=5299|256GB=6099|512GB=7599|1TB=9099", "深空灰色|星光色|紫色|蓝色", "WLAN版 平板电脑"},
	{"apple", "iPad Pro 11英寸 M4", "tablet", "存储容量", "256GB=7499|512GB=9099|1TB=12099|2TB=15099", "深空黑色|银色", "WLAN版 平板电脑"},
	{"apple", "iPad Pro 13英寸 M4", "tablet", "存储容量", "256GB=9499|512GB=11099|1TB=14099|2TB=17099", "深空黑色|银色", "WLAN版 平板电脑"},
	{"huawei", "MatePad Pro 13.2英寸", "tablet", "版本", "12GB+256GB=4899|12GB+512GB=5599", "曜金黑|晶钻白|青山黛", "平板电脑 WiFi版"},
	{"huawei", "MatePad 11.5 S", "tablet", "版本", "8GB+128GB=1799|8GB+256GB=2099", "深空灰|冰霜银|樱语白", "平板电脑 WiFi版"},
	{"xiaomi", "Xiaomi Pad 6", "tablet", "版本", "8GB+128GB=1699|8GB+256GB=1899", "黑色|远山蓝|金色", "11英寸 平板电脑"},
	{"xiaomi", "Xiaomi Pad 6S Pro 12.4", "tablet", "版本", "8GB+256GB=2999|12GB+512GB=3399", "黑色|云峰蓝|原野绿", "平板电脑"},
	{"samsung", "Galaxy Tab S9", "tablet", "版本", "8GB+128GB=4799|12GB+256GB=5499", "石墨灰|米霜白", "11英寸 平板电脑"},
	{"honor", "MagicPad 2", "tablet", "版本", "12GB+256GB=2999|16GB+512GB=3499", "星空灰|月影白|天空蓝", "12.3英寸 平板电脑"},
	{"lenovo", "小新Pad Pro 12.7", "tablet", "版本", "8GB+128GB=1599|8GB+256GB=1799", "鸽子灰|琉璃蓝", "平板电脑"},

	// Laptops.
	{"apple", "MacBook Air 13英寸 M2", "laptop", "配置", "M2/16GB/256GB=6499|M2/16GB/512GB=7999|M2/24GB/512GB=9499", "午夜色|星光色|深空灰色|银色", "笔记本电脑"},
	{"apple", "MacBook Air 13英寸 M3", "laptop", "配置", "M3/16GB/256GB=7199|M3/16GB/512GB=8699|M3/24GB/512GB=10199", "午夜色|星光色|深空灰色|银色", "笔记本电脑"},
	{"apple", "MacBook Air 15英寸 M3", "laptop", "配置", "M3/16GB/256GB=8599|M3/16GB/512GB=10099|M3/24GB/512GB=11599", "午夜色|星光色|深空灰色|银色", "笔记本电脑"},
	{"apple", "MacBook Pro 14英寸 M3", "laptop", "配置", "M3/8GB/512GB=10499|M3/16GB/1TB=13499", "深空灰色|银色", "笔记本电脑"},
	{"apple", "MacBook Pro 14英寸 M4 Pro", "laptop", "配置", "M4 Pro/24GB/512GB=14999|M4 Pro/24GB/1TB=16499|M4 Pro/48GB/1TB=19499", "深空黑色|银色", "笔记本电脑"},
	{"apple", "MacBook Pro 16英寸 M4 Pro", "laptop", "配置", "M4 Pro/24GB/512GB=18999|M4 Pro/48GB/512GB=21999", "深空黑色|银色", "笔记本电脑"},
	{"lenovo", "ThinkPad X1 Carbon 2024", "laptop", "配置", "Ultra 5/16GB/512GB=9999|Ultra 7/32GB/1TB=12999", "黑色", "14英寸 商务笔记本电脑"},
	{"lenovo", "ThinkPad T14 Gen 5", "laptop", "配置", "i5/16GB/512GB=6499|i7/32GB/1TB=8499", "黑色", "14英寸 商务笔记本电脑"},
	{"lenovo", "ThinkPad E14 2024", "laptop", "配置", "i5/16GB/512GB=4299|i7/16GB/1TB=4899", "黑色", "14英寸 笔记本电脑"},
	{"lenovo", "Legion 拯救者 Y9000P 2024", "laptop", "配置", "i9/16GB/1TB RTX4060=9199|i9/32GB/1TB RTX4070=10999", "碳晶灰", "16英寸 电竞游戏本"},
	{"lenovo", "Legion 拯救者 R9000P 2024", "laptop", "配置", "R9/16GB/1TB RTX4060=7999|R9/32GB/1TB RTX4070=8999", "碳晶灰", "16英寸 电竞游戏本"},
	{"lenovo", "小新 Pro 14 2024", "laptop", "配置", "Ultra 5/16GB/1TB=4599|Ultra 5/32GB/1TB=5199", "鸽子灰|琉璃蓝", "轻薄笔记本电脑"},
	{"huawei", "MateBook X Pro 2024", "laptop", "配置", "Ultra 7/16GB/1TB=11999|Ultra 9/32GB/2TB=14999", "宝石蓝|晴蓝|砚黑", "14.2英寸 轻薄笔记本电脑"},
	{"huawei", "MateBook 14 2024", "laptop", "配置", "Ultra 5/16GB/1TB=5499|Ultra 7/32GB/1TB=6499", "深空灰|皓月银|云杉绿", "笔记本电脑"},
	{"huawei", "MateBook D 16", "laptop", "配置", "i5/16GB/512GB=4199|i7/16GB/1TB=4999", "深空灰|皓月银", "笔记本电脑"},
	{"dell", "XPS 13 9340", "laptop", "配置", "Ultra 7/16GB/512GB=9999|Ultra 7/32GB/1TB=12999", "石墨色|铂金色", "13.4英寸 轻薄笔记本电脑"},
	{"dell", "XPS 14 9440", "laptop", "配置", "Ultra 7/32GB/1TB RTX4050=13999", "石墨色|铂金色", "14.5英寸 笔记本电脑"},
	{"honor", "MagicBook Pro 16", "laptop", "配置", "Ultra 5/24GB/1TB=5999|Ultra 7/32GB/1TB RTX4060=7999", "星空灰|晴空蓝", "笔记本电脑"},
	{"redmi", "RedmiBook Pro 16 2024", "laptop", "配置", "Ultra 5/32GB/1TB=5299|Ultra 7/32GB/1TB=5999", "星辰灰", "笔记本电脑"},

	// Watches.
	{"apple", "Apple Watch Series 9 GPS", "watch", "尺寸", "41mm=2599|45mm=2799", "午夜色|星光色|粉色|银色", "智能手表"},
	{"apple", "Apple Watch Series 10 GPS", "watch", "尺寸", "42mm=2899|46mm=3099", "亮黑色|玫瑰金色|银色", "智能手表"},
	{"apple", "Apple Watch Ultra 2", "watch", "尺寸", "49mm=5999", "原色钛金属|黑色钛金属", "智能手表 蜂窝版"},
	{"huawei", "Watch GT 4", "watch", "尺寸", "41mm=1388|46mm=1488", "山茶棕|幻夜黑|云杉绿", "智能手表"},
	{"huawei", "Watch 4 Pro", "watch", "尺寸", "48mm=2999", "钛金属|蓝色", "eSIM智能手表"},
	{"xiaomi", "Xiaomi Watch S3", "watch", "尺寸", "47mm=899", "黑色|银色", "智能手表"},
	{"samsung", "Galaxy Watch7", "watch", "尺寸", "40mm=1799|44mm=1999", "奶油白|哑光绿", "智能手表"},

	// Earphones.
	{"apple", "AirPods Pro 2 USB-C", "earphones", "版本", "标准版=1499", "白色", "主动降噪无线蓝牙耳机"},
	{"apple", "AirPods 4", "earphones", "版本", "标准版=899|主动降噪版=1199", "白色", "无线蓝牙耳机"},
	{"apple", "AirPods Max", "earphones", "版本", "USB-C版=3199", "午夜色|星光色|蓝色|紫色|橙色", "头戴式降噪耳机"},
	{"huawei", "FreeBuds Pro 3", "earphones", "版本", "标准版=1099", "雅川青|冰霜银|陶瓷白", "降噪蓝牙耳机"},
	{"huawei", "FreeBuds 6i", "earphones", "版本", "标准版=549", "星际黑|冰霜银|樱语紫", "降噪蓝牙耳机"},
	{"xiaomi", "Xiaomi Buds 5", "earphones", "版本", "标准版=499", "曜石黑|雪山白|钛光金", "半入耳蓝牙耳机"},
	{"redmi", "Buds 6 Pro", "earphones", "版本", "标准版=299", "曜夜黑|晴雪白|幻月蓝", "降噪蓝牙耳机"},
	{"oppo", "Enco X2", "earphones", "版本", "标准版=699", "凝夜黑|星光白", "降噪蓝牙耳机"},
	{"vivo", "TWS 4", "earphones", "版本", "标准版=399", "深空黑|远峰白", "降噪蓝牙耳机"},
	{"samsung", "Galaxy Buds3 Pro", "earphones", "版本", "标准版=1299", "银色|白色", "降噪蓝牙耳机"},
	{"sony", "WF-1000XM5", "earphones", "版本", "标准版=1499", "黑色|铂金银", "降噪豆 蓝牙耳机"},
	{"sony", "WH-1000XM5", "earphones", "版本", "标准版=2199", "黑色|铂金银", "头戴式降噪耳机"},

	// Accessories.
	{"apple", "20W USB-C 电源适配器", "charger", "规格", "20W=99", "白色", "原装快充头 适用iPhone"},
	{"apple", "35W 双USB-C端口 电源适配器", "charger", "规格", "35W=299", "白色", "原装充电器"},
	{"huawei", "66W 超级快充充电器", "charger", "规格", "充电头=89|充电头+6A数据线=109", "白色", "原装快充套装"},
	{"xiaomi", "67W 充电器套装", "charger", "规格", "充电器套装=69", "白色", "快充头 Type-C"},
	{"anker", "安心充 Pro 氮化镓充电器", "charger", "规格", "30W=79|45W=119", "白色|黑色", "PD快充 适用iPhone/iPad"},
	{"baseus", "氮化镓充电器 2C1A", "charger", "规格", "65W=89|100W=159", "白色|黑色", "多口快充 笔记本/手机通用"},
	{"ugreen", "MagSafe 磁吸无线充电器 15W", "charger", "规格", "1米=89|2米=99", "白色", "适用iPhone 12-16"},
	{"apple", "USB-C 编织充电线", "cable", "规格", "1米=99|2米=129", "白色", "原装数据线 60W"},
	{"ugreen", "Type-C 数据线 PD快充 60W", "cable", "规格", "1米=12.80|2米=16.80", "黑色|白色", "双头Type-C 编织线"},
	{"baseus", "USB-C to Lightning 快充线 20W", "cable", "规格", "1米=15.90|2米=19.90", "白色|黑色", "适用iPhone 14/13"},
	{"ugreen", "磁吸充电宝", "powerbank", "规格", "10000mAh=119|20000mAh=179", "白色|黑色", "MagSafe 22.5W快充 移动电源"},
	{"romoss", "充电宝 20000mAh 22.5W", "powerbank", "规格", "20000mAh=69", "白色|黑色", "大容量 移动电源"},
	{"anker", "MagGo 磁吸充电宝 6.6K", "powerbank", "规格", "6600mAh=199", "白色|紫色|蓝色", "Qi2 15W 移动电源"},
	{"generic", "iPhone 15 Pro 手机壳", "case", "适用型号", "iPhone 15 Pro=15.80|iPhone 15 Pro Max=16.80", "透明|磨砂黑|远峰蓝", "MagSafe磁吸 防摔保护套"},
	{"generic", "iPhone 16 Pro 液态硅胶手机壳", "case", "适用型号", "iPhone 16 Pro=12.50|iPhone 16 Pro Max=13.50", "黑色|白色|粉色|紫色", "全包防摔 保护套"},
	{"generic", "华为 Mate 60 Pro 素皮手机壳", "case", "适用型号", "Mate 60 Pro=18.00|Mate 60 Pro+=18.00", "黑色|棕色|绿色", "全包 商务保护套"},
	{"generic", "小米14 磨砂手机壳", "case", "适用型号", "Xiaomi 14=9.90|Xiaomi 14 Pro=9.90", "黑色|透明", "超薄 保护套"},
	{"generic", "iPad Air 智能双面夹保护套", "case", "适用型号", "iPad Air 11英寸 M2=29.00|iPad Air 13英寸 M2=35.00", "黑色|深蓝色|粉色", "三折支架 平板保护壳"},
	{"generic", "iPhone 15 系列 钢化膜", "film", "规格", "iPhone 15 高清=3.50|iPhone 15 Pro 高清=3.50|iPhone 15 Pro 防窥=5.00|iPhone 15 Pro Max 防窥=5.00", "", "全屏覆盖 防指纹 手机贴膜 2片装"},
	{"generic", "iPhone 16 系列 钢化膜", "film", "规格", "iPhone 16 高清=4.00|iPhone 16 Pro 高清=4.00|iPhone 16 Pro 防窥=6.00|iPhone 16 Pro Max 防窥=6.00", "", "全屏覆盖 防尘网 手机贴膜 2片装"},
	{"generic", "华为 Mate 70 Pro 曲面水凝膜", "film", "规格", "高清款=6.00|防窥款=8.00", "", "全胶 曲面屏 手机膜 3片装"},
	{"apple", "Apple Pencil USB-C", "pencil", "版本", "标准版=499", "白色", "iPad 手写笔"},
	{"apple", "Apple Pencil Pro", "pencil", "版本", "标准版=849", "白色", "iPad 手写笔"},
}

// shopRow is one shop and what it lists. carries holds selectors
// "brand/kind", either side "*" for any.
type shopRow struct {
	name     string // shop name (the company)
	nick     string // seller nick, the shop's login name
	location string
	typ      string // 经销批发 or 生产加工
	since    string // joined 1688
	carries  string
	tag      string // a shop's title decoration
}

var shopRows = []shopRow{
	{"深圳市华强北鑫源通讯器材商行", "xinyuantongxun", "广东 深圳", "经销批发", "2012-03-18", "apple/phone apple/tablet", "华强北现货"},
	{"深圳市福田区果仓数码批发中心", "guocangshuma", "广东 深圳", "经销批发", "2015-07-02", "apple/*", "果仓"},
	{"广州天河优品数码科技有限公司", "youpinshuma", "广东 广州", "经销批发", "2016-05-20", "huawei/* honor/*", "优品数码"},
	{"东莞市华讯通信设备有限公司", "huaxuntongxin", "广东 东莞", "经销批发", "2014-09-09", "huawei/phone huawei/tablet huawei/watch", "华讯"},
	{"深圳市米家生态数码有限公司", "mijiashengtai", "广东 深圳", "经销批发", "2017-11-11", "xiaomi/* redmi/*", "米家生态"},
	{"长沙市芙蓉区星辰手机批发部", "xingchenshouji", "湖南 长沙", "经销批发", "2013-04-01", "xiaomi/phone redmi/phone oppo/phone vivo/phone", "星辰"},
	{"深圳市欧维通讯科技有限公司", "ouweitongxun", "广东 深圳", "经销批发", "2015-01-15", "oppo/* vivo/*", "欧维通讯"},
	{"上海徐汇星盛三星数码专营", "xingshengsanxing", "上海 徐汇", "经销批发", "2011-08-08", "samsung/*", "星盛"},
	{"北京中关村联拓笔记本批发", "liantuobijiben", "北京 海淀", "经销批发", "2010-06-18", "lenovo/*", "联拓"},
	{"北京中关村鼎盛电脑科技有限公司", "dingshengdiannao", "北京 海淀", "经销批发", "2009-10-10", "*/laptop", "鼎盛电脑"},
	{"成都市锦江区蓉城数码港", "rongchengshuma", "四川 成都", "经销批发", "2016-02-28", "apple/phone huawei/phone xiaomi/phone", "蓉城数码"},
	{"杭州滨江潮品数码有限公司", "chaopinshuma", "浙江 杭州", "经销批发", "2018-03-08", "*/tablet", "潮品"},
	{"郑州市二七区中原通讯批发", "zhongyuantongxun", "河南 郑州", "经销批发", "2012-12-12", "honor/phone vivo/phone oppo/phone samsung/phone", "中原通讯"},
	{"深圳市绿联配件批发部", "lvlianpeijian", "广东 深圳", "生产加工", "2014-05-05", "ugreen/* */cable", "厂家直销"},
	{"东莞市倍思电子配件有限公司", "beisidianzi", "广东 东莞", "生产加工", "2013-07-07", "baseus/* */charger", "源头工厂"},
	{"义乌市小商品手机壳批发城", "yiwushoujike", "浙江 义乌", "生产加工", "2015-09-01", "*/case */film", "义乌工厂"},
	{"深圳市安克创新配件批发", "ankepeijian", "广东 深圳", "经销批发", "2016-10-24", "anker/* romoss/* */powerbank", "安克授权"},
	{"广州市白云区声悦耳机音频批发", "shengyueerji", "广东 广州", "经销批发", "2017-06-18", "*/earphones", "声悦"},
	{"深圳市南山区智联穿戴设备专营", "zhilianchuandai", "广东 深圳", "经销批发", "2019-02-14", "*/watch", "智联穿戴"},
	{"温州市鹿城区手机膜批发中心", "wenzhoushoujimo", "浙江 温州", "生产加工", "2014-11-11", "*/film */case */pencil", "温州源头"},
	{"武汉光谷电脑城笔记本专营", "guanggudiannao", "湖北 武汉", "经销批发", "2012-08-30", "huawei/laptop lenovo/laptop dell/laptop honor/laptop", "光谷电脑城"},
	{"南京新街口苹果专营批发", "xinjiekouapple", "江苏 南京", "经销批发", "2013-12-24", "apple/phone apple/watch apple/earphones", "新街口"},
	{"西安市雁塔区秦川数码批发", "qinchuanshuma", "陕西 西安", "经销批发", "2018-08-18", "huawei/phone honor/phone samsung/phone vivo/phone", "秦川数码"},
}
