package sandbox

// The sandbox's model library: real devices with their mainland-China launch
// month and launch prices (CNY, per storage tier). One line per model:
//
//	brand | type | launch (YYYY-MM) | name | tier:price,... | RAMs@step (computers) | aliases;...
//
// For a computer the tier price is for the first (smallest) RAM; each larger
// RAM adds the step in yuan. Cameras have no storage: their tiers are the
// variants 单机身 (body only) and 套机 (with the kit lens). Watches list their
// built-in storage. Parsed once at start-up; a bad line panics (the tests load it).
const catalogData = `
apple|phone|2019-09|iPhone 11|64GB:5499,128GB:5999,256GB:6799||
apple|phone|2019-09|iPhone 11 Pro|64GB:8699,256GB:9999,512GB:11799||
apple|phone|2019-09|iPhone 11 Pro Max|64GB:9599,256GB:10899,512GB:12699||
apple|phone|2020-04|iPhone SE (第二代)|64GB:3299,128GB:3799,256GB:4599||iPhone SE 2;iPhone SE 2020
apple|phone|2020-10|iPhone 12 mini|64GB:5499,128GB:5999,256GB:6799||
apple|phone|2020-10|iPhone 12|64GB:6299,128GB:6799,256GB:7599||
apple|phone|2020-10|iPhone 12 Pro|128GB:8499,256GB:9299,512GB:10999||
apple|phone|2020-10|iPhone 12 Pro Max|128GB:9299,256GB:10099,512GB:11899||
apple|phone|2021-09|iPhone 13 mini|128GB:5199,256GB:5999,512GB:7599||
apple|phone|2021-09|iPhone 13|128GB:5999,256GB:6799,512GB:8599||
apple|phone|2021-09|iPhone 13 Pro|128GB:7999,256GB:8799,512GB:10399,1TB:11999||
apple|phone|2021-09|iPhone 13 Pro Max|128GB:8999,256GB:9799,512GB:11399,1TB:12999||
apple|phone|2022-03|iPhone SE (第三代)|64GB:3499,128GB:3899,256GB:4699||iPhone SE 3;iPhone SE 2022
apple|phone|2022-09|iPhone 14|128GB:5999,256GB:6899,512GB:8699||
apple|phone|2022-10|iPhone 14 Plus|128GB:6999,256GB:7899,512GB:9699||
apple|phone|2022-09|iPhone 14 Pro|128GB:7999,256GB:8899,512GB:10699,1TB:12499||
apple|phone|2022-09|iPhone 14 Pro Max|128GB:8999,256GB:9899,512GB:11699,1TB:13499||
apple|phone|2023-09|iPhone 15|128GB:5999,256GB:6999,512GB:8999||
apple|phone|2023-09|iPhone 15 Plus|128GB:6999,256GB:7999,512GB:9999||
apple|phone|2023-09|iPhone 15 Pro|128GB:7999,256GB:8999,512GB:10999,1TB:12999||
apple|phone|2023-09|iPhone 15 Pro Max|256GB:9999,512GB:11999,1TB:13999||
apple|phone|2024-09|iPhone 16|128GB:5999,256GB:6999,512GB:8999||
apple|phone|2024-09|iPhone 16 Plus|128GB:6999,256GB:7999,512GB:9999||
apple|phone|2024-09|iPhone 16 Pro|128GB:7999,256GB:8999,512GB:10999,1TB:12999||
apple|phone|2024-09|iPhone 16 Pro Max|256GB:9999,512GB:11999,1TB:13999||
apple|phone|2025-02|iPhone 16e|128GB:4499,256GB:5299,512GB:6999||
apple|phone|2025-09|iPhone 17|256GB:5999,512GB:7999||
apple|phone|2025-09|iPhone Air|256GB:7999,512GB:9999,1TB:11999||
apple|phone|2025-09|iPhone 17 Pro|256GB:8999,512GB:10999,1TB:12999||
apple|phone|2025-09|iPhone 17 Pro Max|256GB:9999,512GB:11999,1TB:13999,2TB:15999||
huawei|phone|2020-10|HUAWEI Mate 40 Pro|256GB:6499,512GB:6999||
huawei|phone|2021-07|HUAWEI P50 Pro|256GB:5988,512GB:6988||
huawei|phone|2022-09|HUAWEI Mate 50 Pro|256GB:6799,512GB:7799||
huawei|phone|2023-03|HUAWEI P60 Pro|256GB:6988,512GB:7988||
huawei|phone|2023-09|HUAWEI Mate 60|256GB:5999,512GB:6499||
huawei|phone|2023-08|HUAWEI Mate 60 Pro|256GB:6999,512GB:7999,1TB:8999||
huawei|phone|2023-09|HUAWEI Mate X5|256GB:12999,512GB:13999||
huawei|phone|2023-12|HUAWEI nova 12|256GB:2999,512GB:3299||
huawei|phone|2024-04|HUAWEI Pura 70|256GB:5499,512GB:5999,1TB:6999||
huawei|phone|2024-04|HUAWEI Pura 70 Pro|512GB:6499,1TB:7499||
huawei|phone|2024-11|HUAWEI Mate 70 Pro|256GB:6499,512GB:6999,1TB:7999||
honor|phone|2023-03|Honor Magic5 Pro|256GB:5199,512GB:5699||
honor|phone|2023-05|Honor 90|256GB:2499,512GB:2799||
honor|phone|2023-07|Honor X50|128GB:1399,256GB:1599||
honor|phone|2023-07|Honor Magic V2|256GB:8999,512GB:9999||
honor|phone|2024-01|Honor Magic6 Pro|256GB:5699,512GB:6199,1TB:6999||
xiaomi|phone|2021-12|Xiaomi 12|128GB:3699,256GB:3999||
xiaomi|phone|2022-12|Xiaomi 13|128GB:3999,256GB:4299,512GB:4999||
xiaomi|phone|2022-12|Xiaomi 13 Pro|128GB:4999,256GB:5399,512GB:6299||
xiaomi|phone|2023-10|Xiaomi 14|256GB:3999,512GB:4599,1TB:4999||
xiaomi|phone|2023-10|Xiaomi 14 Pro|256GB:4999,512GB:5499,1TB:6499||
xiaomi|phone|2024-02|Xiaomi 14 Ultra|256GB:6499,512GB:6999,1TB:7799||
xiaomi|phone|2024-10|Xiaomi 15|256GB:4499,512GB:4999,1TB:5499||
xiaomi|phone|2023-09|Redmi Note 13 Pro|128GB:1399,256GB:1599,512GB:1899||红米 Note 13 Pro
xiaomi|phone|2023-11|Redmi K70|256GB:2499,512GB:2799||红米 K70
oppo|phone|2023-03|OPPO Find X6 Pro|256GB:5999,512GB:6799||
oppo|phone|2023-10|OPPO Find N3|512GB:9999,1TB:10999||
oppo|phone|2023-11|OPPO Reno11|256GB:2499,512GB:2799||
oppo|phone|2024-01|OPPO Find X7 Ultra|256GB:5999,512GB:6499||
oppo|phone|2024-10|OPPO Find X8|256GB:4199,512GB:4799||
vivo|phone|2022-11|vivo X90 Pro+|256GB:6499,512GB:6999||
vivo|phone|2023-11|vivo X100|256GB:3999,512GB:4599,1TB:5499||
vivo|phone|2023-11|vivo X100 Pro|256GB:4999,512GB:5499,1TB:6499||
vivo|phone|2023-12|vivo S18|256GB:2699,512GB:2999||
vivo|phone|2024-10|vivo X200 Pro|256GB:5299,512GB:5999,1TB:6799||
samsung|phone|2022-02|Samsung Galaxy S22 Ultra|256GB:9699,512GB:10699||
samsung|phone|2023-02|Samsung Galaxy S23|128GB:5499,256GB:5999||
samsung|phone|2023-02|Samsung Galaxy S23 Ultra|256GB:9699,512GB:10699,1TB:12699||
samsung|phone|2023-07|Samsung Galaxy Z Flip5|256GB:7999,512GB:8999||
samsung|phone|2023-07|Samsung Galaxy Z Fold5|256GB:13999,512GB:14999,1TB:16999||
samsung|phone|2024-01|Samsung Galaxy S24 Ultra|256GB:9699,512GB:10699,1TB:12699||
apple|tablet|2021-09|iPad (第九代)|64GB:2499,256GB:3699||iPad 9
apple|tablet|2021-09|iPad mini (第六代)|64GB:3799,256GB:4999||iPad mini 6
apple|tablet|2022-03|iPad Air (第五代)|64GB:4799,256GB:5999||iPad Air 5
apple|tablet|2022-10|iPad (第十代)|64GB:3599,256GB:4799||iPad 10
apple|tablet|2022-10|iPad Pro 11 (第四代)|128GB:6799,256GB:7599,512GB:9199,1TB:12399,2TB:15599||iPad Pro 11 2022
apple|tablet|2022-10|iPad Pro 12.9 (第六代)|128GB:9299,256GB:10099,512GB:11699,1TB:14899,2TB:18099||iPad Pro 12.9 2022
apple|tablet|2024-05|iPad Air 11 (M2)|128GB:4799,256GB:5599,512GB:7199,1TB:8799||
apple|tablet|2024-05|iPad Pro 11 (M4)|256GB:8999,512GB:10699,1TB:14099,2TB:17499||
huawei|tablet|2023-09|HUAWEI MatePad Pro 13.2|256GB:5199,512GB:5699||
xiaomi|tablet|2023-04|Xiaomi Pad 6|128GB:1999,256GB:2299||小米平板6
samsung|tablet|2023-07|Samsung Galaxy Tab S9|256GB:6999,512GB:7999||
apple|laptop|2020-11|MacBook Air 13 M1|256GB:7999,512GB:9999|8GB,16GB@1500|MacBook Air M1
apple|laptop|2021-10|MacBook Pro 16 M1 Pro|512GB:19999,1TB:21499|16GB,32GB@3000|
apple|laptop|2022-06|MacBook Pro 13 M2|256GB:10499,512GB:11999|8GB,16GB,24GB@1500|
apple|laptop|2022-07|MacBook Air 13 M2|256GB:9499,512GB:10999|8GB,16GB,24GB@1500|MacBook Air M2
apple|laptop|2023-06|MacBook Air 15 M2|256GB:10499,512GB:11999|8GB,16GB,24GB@1500|
apple|laptop|2023-11|MacBook Pro 14 M3|512GB:12999,1TB:14499|8GB,16GB,24GB@1500|
apple|laptop|2023-11|MacBook Pro 14 M3 Pro|512GB:16999,1TB:18499|18GB,36GB@3000|
apple|laptop|2023-11|MacBook Pro 16 M3 Max|1TB:27999,2TB:31499|36GB,48GB,64GB,128GB@3000|
apple|laptop|2024-03|MacBook Air 13 M3|256GB:8999,512GB:10499|8GB,16GB,24GB@1500|MacBook Air M3
apple|laptop|2024-11|MacBook Pro 14 M4|512GB:12999,1TB:14499|16GB,24GB,32GB@1500|
lenovo|laptop|2023-01|拯救者 Y9000P 2023|1TB:9999|16GB,32GB@800|Legion Y9000P 2023
lenovo|laptop|2023-03|ThinkPad X1 Carbon 2023|512GB:12999,1TB:14499|16GB,32GB@1200|ThinkPad X1 Carbon Gen 11
lenovo|laptop|2023-03|小新 Pro 14 2023|512GB:5499,1TB:5999|16GB,32GB@600|Xiaoxin Pro 14 2023;IdeaPad Pro 14 2023
dell|laptop|2023-04|XPS 15 9530|512GB:14999,1TB:16999|16GB,32GB@1500|
hp|laptop|2023-03|Spectre x360 14 2023|1TB:10999|16GB,32GB@1000|幽灵 x360 14 2023
asus|laptop|2023-02|ROG 幻16 2023|1TB:12999|16GB,32GB@1000|ROG Zephyrus G16 2023
microsoft|laptop|2022-10|Surface Laptop 5|256GB:8288,512GB:10288|8GB,16GB,32GB@1500|
huawei|laptop|2023-03|HUAWEI MateBook X Pro 2023|1TB:11999|16GB,32GB@1000|
xiaomi|laptop|2023-02|Xiaomi Book Pro 14 2022|512GB:6499|16GB,32GB@800|小米笔记本Pro 14 2022
sony|camera|2018-03|A7 III|单机身:13999,套机:15999||A7M3;ILCE-7M3;α7 III;α7M3
sony|camera|2021-08|ZV-E10|单机身:4999,套机:5699||
sony|camera|2021-10|A7 IV|单机身:16999,套机:18999||A7M4;ILCE-7M4;α7 IV;α7M4
canon|camera|2020-07|EOS R5|单机身:25999,套机:31999||
canon|camera|2022-11|EOS R6 Mark II|单机身:15999,套机:19999||EOS R6 II;R6二代
canon|camera|2023-02|EOS R50|单机身:4999,套机:5699||
nikon|camera|2020-10|Z 6II|单机身:12999,套机:16999||Z6II;Z6 II;Z6二代
nikon|camera|2023-05|Z 8|单机身:26999||Z8
fujifilm|camera|2020-02|X100V|单机身:9990||
fujifilm|camera|2022-11|X-T5|单机身:12900,套机:14900||XT5
panasonic|camera|2023-01|LUMIX S5M2|单机身:12998,套机:14998||S5II;S5 II;S5二代
apple|watch|2022-09|Apple Watch Series 8|32GB:2999||Watch S8;Apple Watch S8
apple|watch|2022-09|Apple Watch SE (第二代)|32GB:1999||Apple Watch SE 2
apple|watch|2023-09|Apple Watch Series 9|64GB:2999||Watch S9;Apple Watch S9
apple|watch|2023-09|Apple Watch Ultra 2|64GB:6499||
apple|watch|2024-09|Apple Watch Series 10|64GB:2999||Watch S10;Apple Watch S10
huawei|watch|2023-05|HUAWEI WATCH 4 Pro|32GB:3299||
huawei|watch|2023-09|HUAWEI WATCH GT 4|4GB:1488||
samsung|watch|2023-07|Samsung Galaxy Watch6 Classic|16GB:2699||
`

// brandData lists the brands the library knows: key | English | Chinese |
// other names | series words a model name may start with.
const brandData = `
apple|Apple|苹果||
huawei|HUAWEI|华为||
honor|Honor|荣耀|HONOR|
xiaomi|Xiaomi|小米|MI;Redmi;红米|
oppo|OPPO|OPPO||
vivo|vivo|vivo|iQOO|
samsung|Samsung|三星||Galaxy
lenovo|Lenovo|联想|ThinkPad|
dell|Dell|戴尔||
hp|HP|惠普||
asus|ASUS|华硕||
microsoft|Microsoft|微软||
sony|Sony|索尼||
canon|Canon|佳能||
nikon|Nikon|尼康||
fujifilm|Fujifilm|富士|FUJIFILM;Fuji|
panasonic|Panasonic|松下|LUMIX|
`
