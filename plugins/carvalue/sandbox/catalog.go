package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// CarType is one car type (车型) the sandbox values.
type CarType struct {
	ID       int
	Brand    string
	Series   string
	Year     int    // model year (款)
	Trim     string // 配置
	GuideWan string // factory guide price in 万元, two decimals
	Emission string // 国V or 国VI
	guideFen int64
}

// FullName is the name the provider writes in car_fullname.
func (t *CarType) FullName() string {
	return fmt.Sprintf("%s %s %d款 %s", t.Brand, t.Series, t.Year, t.Trim)
}

// City is one city (城市) with its regional price coefficient.
type City struct {
	ID       int
	Name     string
	Province string
	CoefBP   int64 // regional coefficient in basis points, 10000 = 1.00
}

// carTypes is the sandbox's catalogue: real models sold in China with their
// factory guide prices (approximate, as listed when the model year was
// current). Type 52 is the document's example request (registered 2022-01,
// so a 2021款); type 61 is the car of the document's example reply (奥迪Q5L
// 2024款 40 TFSI 时尚动感型, 39.88万, 国VI).
var carTypes = []*CarType{
	{ID: 1, Brand: "丰田", Series: "卡罗拉", Year: 2021, Trim: "1.2T S-CVT 精英版", GuideWan: "12.98", Emission: "国VI"},
	{ID: 2, Brand: "丰田", Series: "凯美瑞", Year: 2022, Trim: "2.0G 豪华版", GuideWan: "19.98", Emission: "国VI"},
	{ID: 3, Brand: "丰田", Series: "RAV4荣放", Year: 2021, Trim: "2.0L CVT两驱风尚版", GuideWan: "17.58", Emission: "国VI"},
	{ID: 4, Brand: "丰田", Series: "汉兰达", Year: 2022, Trim: "2.5L 双擎四驱精英版 7座", GuideWan: "29.38", Emission: "国VI"},
	{ID: 5, Brand: "丰田", Series: "卡罗拉", Year: 2017, Trim: "1.2T CVT GL智享版", GuideWan: "13.78", Emission: "国V"},
	{ID: 6, Brand: "本田", Series: "雅阁", Year: 2022, Trim: "260TURBO 豪华版", GuideWan: "19.98", Emission: "国VI"},
	{ID: 7, Brand: "本田", Series: "思域", Year: 2022, Trim: "240TURBO CVT 劲动版", GuideWan: "13.99", Emission: "国VI"},
	{ID: 8, Brand: "本田", Series: "CR-V", Year: 2021, Trim: "240TURBO CVT两驱都市版", GuideWan: "18.59", Emission: "国VI"},
	{ID: 9, Brand: "本田", Series: "飞度", Year: 2018, Trim: "1.5L CVT 潮跑版", GuideWan: "9.38", Emission: "国V"},
	{ID: 10, Brand: "本田", Series: "奥德赛", Year: 2019, Trim: "2.4L 智享版", GuideWan: "25.98", Emission: "国VI"},
	{ID: 11, Brand: "日产", Series: "轩逸", Year: 2022, Trim: "1.6L XL CVT悦享版", GuideWan: "12.99", Emission: "国VI"},
	{ID: 12, Brand: "日产", Series: "天籁", Year: 2021, Trim: "2.0L XL 舒适版", GuideWan: "18.98", Emission: "国VI"},
	{ID: 13, Brand: "日产", Series: "奇骏", Year: 2019, Trim: "2.0L CVT 七座舒适版 2WD", GuideWan: "18.88", Emission: "国V"},
	{ID: 14, Brand: "大众", Series: "朗逸", Year: 2023, Trim: "1.5L 自动满逸版", GuideWan: "12.69", Emission: "国VI"},
	{ID: 15, Brand: "大众", Series: "速腾", Year: 2022, Trim: "280TSI DSG 超越版", GuideWan: "15.49", Emission: "国VI"},
	{ID: 16, Brand: "大众", Series: "迈腾", Year: 2023, Trim: "330TSI DSG 领先型", GuideWan: "21.99", Emission: "国VI"},
	{ID: 17, Brand: "大众", Series: "帕萨特", Year: 2022, Trim: "330TSI 精英版", GuideWan: "21.79", Emission: "国VI"},
	{ID: 18, Brand: "大众", Series: "途观L", Year: 2022, Trim: "330TSI 自动两驱智享版", GuideWan: "22.98", Emission: "国VI"},
	{ID: 19, Brand: "大众", Series: "宝来", Year: 2018, Trim: "1.5L 自动舒适型", GuideWan: "11.58", Emission: "国V"},
	{ID: 20, Brand: "大众", Series: "高尔夫", Year: 2019, Trim: "280TSI DSG 舒适型", GuideWan: "15.59", Emission: "国VI"},
	{ID: 21, Brand: "别克", Series: "英朗", Year: 2022, Trim: "1.5L CVT 精英型", GuideWan: "11.99", Emission: "国VI"},
	{ID: 22, Brand: "别克", Series: "君越", Year: 2020, Trim: "652T 豪华型", GuideWan: "22.99", Emission: "国VI"},
	{ID: 23, Brand: "别克", Series: "GL8", Year: 2022, Trim: "ES陆尊 653T 豪华型", GuideWan: "32.99", Emission: "国VI"},
	{ID: 24, Brand: "雪佛兰", Series: "科鲁泽", Year: 2018, Trim: "320 自动欣享版", GuideWan: "11.29", Emission: "国V"},
	{ID: 25, Brand: "福特", Series: "福克斯", Year: 2019, Trim: "两厢 1.5L 自动锋潮型", GuideWan: "11.98", Emission: "国VI"},
	{ID: 26, Brand: "福特", Series: "蒙迪欧", Year: 2020, Trim: "EcoBoost 200 时尚型", GuideWan: "19.58", Emission: "国VI"},
	{ID: 27, Brand: "现代", Series: "伊兰特", Year: 2022, Trim: "1.5L CVT GLX精英版", GuideWan: "11.98", Emission: "国VI"},
	{ID: 28, Brand: "起亚", Series: "K5", Year: 2020, Trim: "270T CVVD 豪华版", GuideWan: "18.98", Emission: "国VI"},
	{ID: 29, Brand: "马自达", Series: "马自达3 昂克赛拉", Year: 2022, Trim: "2.0L 自动质雅版", GuideWan: "14.79", Emission: "国VI"},
	{ID: 30, Brand: "吉利", Series: "帝豪", Year: 2022, Trim: "第4代 1.5L CVT 豪华型", GuideWan: "8.88", Emission: "国VI"},
	{ID: 31, Brand: "吉利", Series: "星越L", Year: 2022, Trim: "2.0TD DCT 两驱豪华型", GuideWan: "16.77", Emission: "国VI"},
	{ID: 32, Brand: "长安", Series: "CS75 PLUS", Year: 2022, Trim: "第二代 1.5T 自动豪华型", GuideWan: "13.39", Emission: "国VI"},
	{ID: 33, Brand: "长安", Series: "逸动", Year: 2021, Trim: "PLUS 1.6L GDI CVT 精英型", GuideWan: "8.69", Emission: "国VI"},
	{ID: 34, Brand: "哈弗", Series: "哈弗H6", Year: 2021, Trim: "第三代 1.5T 自动两驱Pro", GuideWan: "12.20", Emission: "国VI"},
	{ID: 35, Brand: "哈弗", Series: "哈弗H6", Year: 2017, Trim: "红标 运动版 1.5T 自动两驱精英型", GuideWan: "12.60", Emission: "国V"},
	{ID: 36, Brand: "比亚迪", Series: "秦PLUS", Year: 2023, Trim: "DM-i 冠军版 120KM 领先型", GuideWan: "13.58", Emission: "国VI"},
	{ID: 37, Brand: "比亚迪", Series: "汉", Year: 2022, Trim: "DM-i 242KM 尊贵型", GuideWan: "24.98", Emission: "国VI"},
	{ID: 38, Brand: "比亚迪", Series: "宋PLUS", Year: 2021, Trim: "DM-i 51KM 旗舰型", GuideWan: "16.68", Emission: "国VI"},
	{ID: 39, Brand: "理想", Series: "理想ONE", Year: 2021, Trim: "增程6座版", GuideWan: "33.80", Emission: "国VI"},
	{ID: 40, Brand: "红旗", Series: "红旗H5", Year: 2023, Trim: "1.5T 智联旗畅版", GuideWan: "15.98", Emission: "国VI"},
	{ID: 41, Brand: "沃尔沃", Series: "沃尔沃XC60", Year: 2022, Trim: "B5 四驱智远豪华版", GuideWan: "41.69", Emission: "国VI"},
	{ID: 42, Brand: "凯迪拉克", Series: "凯迪拉克CT5", Year: 2022, Trim: "28T 豪华型", GuideWan: "30.77", Emission: "国VI"},
	{ID: 43, Brand: "雷克萨斯", Series: "雷克萨斯ES", Year: 2021, Trim: "300h 卓越版", GuideWan: "32.90", Emission: "国VI"},
	{ID: 44, Brand: "保时捷", Series: "Macan", Year: 2022, Trim: "Macan 2.0T", GuideWan: "57.80", Emission: "国VI"},
	{ID: 45, Brand: "五菱", Series: "五菱宏光", Year: 2019, Trim: "S 1.5L 手动标准型", GuideWan: "5.08", Emission: "国V"},
	{ID: 46, Brand: "传祺", Series: "传祺GS4", Year: 2020, Trim: "270T 自动精英版", GuideWan: "11.98", Emission: "国VI"},
	{ID: 47, Brand: "领克", Series: "领克03", Year: 2021, Trim: "1.5TD DCT Pro", GuideWan: "14.58", Emission: "国VI"},
	{ID: 48, Brand: "奇瑞", Series: "瑞虎8", Year: 2022, Trim: "鲲鹏版 1.6TGDI DCT 豪华型", GuideWan: "12.99", Emission: "国VI"},
	{ID: 49, Brand: "荣威", Series: "荣威i5", Year: 2021, Trim: "1.5L CVT 领豪版", GuideWan: "8.39", Emission: "国VI"},
	{ID: 50, Brand: "奥迪", Series: "奥迪A4L", Year: 2023, Trim: "40 TFSI 时尚动感型", GuideWan: "32.18", Emission: "国VI"},
	{ID: 51, Brand: "奥迪", Series: "奥迪A6L", Year: 2023, Trim: "45 TFSI 臻选动感型", GuideWan: "47.98", Emission: "国VI"},
	{ID: 52, Brand: "奥迪", Series: "奥迪Q5L", Year: 2021, Trim: "40 TFSI 时尚动感型", GuideWan: "39.88", Emission: "国VI"},
	{ID: 53, Brand: "奥迪", Series: "奥迪Q3", Year: 2019, Trim: "35 TFSI 时尚动感型", GuideWan: "29.98", Emission: "国V"},
	{ID: 54, Brand: "宝马", Series: "宝马3系", Year: 2023, Trim: "325Li M运动套装", GuideWan: "34.99", Emission: "国VI"},
	{ID: 55, Brand: "宝马", Series: "宝马5系", Year: 2022, Trim: "530Li 领先型 M运动套装", GuideWan: "49.99", Emission: "国VI"},
	{ID: 56, Brand: "宝马", Series: "宝马X3", Year: 2022, Trim: "xDrive30i 领先型 M曜夜套装", GuideWan: "47.39", Emission: "国VI"},
	{ID: 57, Brand: "宝马", Series: "宝马X1", Year: 2018, Trim: "sDrive20Li 时尚型", GuideWan: "28.60", Emission: "国V"},
	{ID: 58, Brand: "奔驰", Series: "奔驰C级", Year: 2023, Trim: "C 260 L 运动版", GuideWan: "35.43", Emission: "国VI"},
	{ID: 59, Brand: "奔驰", Series: "奔驰E级", Year: 2022, Trim: "E 300 L 时尚型", GuideWan: "49.18", Emission: "国VI"},
	{ID: 60, Brand: "奔驰", Series: "奔驰GLC", Year: 2022, Trim: "GLC 300 L 4MATIC 动感型", GuideWan: "43.58", Emission: "国VI"},
	{ID: 61, Brand: "奥迪", Series: "奥迪Q5L", Year: 2024, Trim: "40 TFSI 时尚动感型", GuideWan: "39.88", Emission: "国VI"},
}

// brandRetention is how well a brand keeps its value, in basis points
// (10000 = the market average): Japanese brands and Porsche keep more,
// brands sold with heavy dealer discounts less.
var brandRetention = map[string]int64{
	"丰田": 10800, "本田": 10700, "雷克萨斯": 11000, "保时捷": 10900, "日产": 9400, "马自达": 9300,
	"大众": 9700, "奔驰": 9300, "宝马": 9000, "奥迪": 8900, "沃尔沃": 8800, "凯迪拉克": 8200,
	"别克": 8800, "雪佛兰": 8300, "福特": 8400, "现代": 8200, "起亚": 8100,
	"吉利": 9000, "长安": 8800, "哈弗": 8900, "比亚迪": 9100, "理想": 8600, "红旗": 9000,
	"五菱": 9500, "传祺": 8600, "领克": 8700, "奇瑞": 8700, "荣威": 8200,
}

// cities are the cities the sandbox values in, with regional coefficients:
// large coastal markets pay more, the north-east and the far west less.
// City 101100 is the document's example request (宣城, 安徽).
var cities = []*City{
	{ID: 100100, Name: "北京", Province: "北京", CoefBP: 10300},
	{ID: 100200, Name: "上海", Province: "上海", CoefBP: 10400},
	{ID: 100300, Name: "天津", Province: "天津", CoefBP: 10000},
	{ID: 100400, Name: "重庆", Province: "重庆", CoefBP: 9800},
	{ID: 100500, Name: "广州", Province: "广东", CoefBP: 10300},
	{ID: 100600, Name: "深圳", Province: "广东", CoefBP: 10500},
	{ID: 100700, Name: "杭州", Province: "浙江", CoefBP: 10400},
	{ID: 100800, Name: "南京", Province: "江苏", CoefBP: 10200},
	{ID: 100900, Name: "苏州", Province: "江苏", CoefBP: 10300},
	{ID: 101000, Name: "成都", Province: "四川", CoefBP: 10000},
	{ID: 101100, Name: "宣城", Province: "安徽", CoefBP: 9700},
	{ID: 101200, Name: "合肥", Province: "安徽", CoefBP: 9900},
	{ID: 101300, Name: "武汉", Province: "湖北", CoefBP: 10000},
	{ID: 101400, Name: "长沙", Province: "湖南", CoefBP: 9900},
	{ID: 101500, Name: "郑州", Province: "河南", CoefBP: 9800},
	{ID: 101600, Name: "西安", Province: "陕西", CoefBP: 9800},
	{ID: 101700, Name: "济南", Province: "山东", CoefBP: 9900},
	{ID: 101800, Name: "青岛", Province: "山东", CoefBP: 10000},
	{ID: 101900, Name: "沈阳", Province: "辽宁", CoefBP: 9500},
	{ID: 102000, Name: "大连", Province: "辽宁", CoefBP: 9700},
	{ID: 102100, Name: "哈尔滨", Province: "黑龙江", CoefBP: 9400},
	{ID: 102200, Name: "长春", Province: "吉林", CoefBP: 9500},
	{ID: 102300, Name: "石家庄", Province: "河北", CoefBP: 9600},
	{ID: 102400, Name: "太原", Province: "山西", CoefBP: 9500},
	{ID: 102500, Name: "昆明", Province: "云南", CoefBP: 9700},
	{ID: 102600, Name: "贵阳", Province: "贵州", CoefBP: 9600},
	{ID: 102700, Name: "南宁", Province: "广西", CoefBP: 9600},
	{ID: 102800, Name: "福州", Province: "福建", CoefBP: 10000},
	{ID: 102900, Name: "厦门", Province: "福建", CoefBP: 10200},
	{ID: 103000, Name: "南昌", Province: "江西", CoefBP: 9700},
	{ID: 103100, Name: "乌鲁木齐", Province: "新疆", CoefBP: 9300},
	{ID: 103200, Name: "兰州", Province: "甘肃", CoefBP: 9400},
	{ID: 103300, Name: "海口", Province: "海南", CoefBP: 10100},
	{ID: 103400, Name: "宁波", Province: "浙江", CoefBP: 10200},
	{ID: 103500, Name: "东莞", Province: "广东", CoefBP: 10200},
	{ID: 103600, Name: "拉萨", Province: "西藏", CoefBP: 9200},
}

var (
	typeByID = map[int]*CarType{}
	cityByID = map[int]*City{}
)

func init() {
	for _, t := range carTypes {
		if _, dup := typeByID[t.ID]; dup {
			panic(fmt.Sprintf("sandbox catalogue: duplicate car type %d", t.ID))
		}
		if _, ok := brandRetention[t.Brand]; !ok {
			panic(fmt.Sprintf("sandbox catalogue: no retention for brand %s", t.Brand))
		}
		fen, err := wanToFen(t.GuideWan)
		if err != nil {
			panic(fmt.Sprintf("sandbox catalogue: car type %d: %v", t.ID, err))
		}
		t.guideFen = fen
		typeByID[t.ID] = t
	}
	sort.Slice(carTypes, func(i, j int) bool { return carTypes[i].ID < carTypes[j].ID })
	for _, c := range cities {
		if _, dup := cityByID[c.ID]; dup {
			panic(fmt.Sprintf("sandbox catalogue: duplicate city %d", c.ID))
		}
		cityByID[c.ID] = c
	}
}

// CarTypes returns the catalogue's car types, by id.
func CarTypes() []CarType {
	out := make([]CarType, len(carTypes))
	for i, t := range carTypes {
		out[i] = *t
	}
	return out
}

// Cities returns the catalogue's cities, by id.
func Cities() []City {
	out := make([]City, len(cities))
	for i, c := range cities {
		out[i] = *c
	}
	return out
}

// lookupID reads a catalogue id ("52"); ok is false for anything else.
func lookupID(s string) (int, bool) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// wanToFen reads a non-negative decimal in 万元 with at most two decimals.
func wanToFen(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an amount in 万元 with two decimals", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*1_000_000 + f*10_000, nil
}

// fenToWan writes fen (a multiple of 10,000) as 万元 with two decimals.
func fenToWan(fen int64) string {
	return fmt.Sprintf("%d.%02d", fen/1_000_000, fen%1_000_000/10_000)
}
