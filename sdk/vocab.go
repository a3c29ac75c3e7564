package sdk

// Every value of each enumeration, in a stable order: what Valid checks
// against, and what the host's API lists.
var (
	AllCapabilities = []Capability{CapQuote, CapQuoteBatch, CapCatalog, CapOrders,
		CapTracking, CapInspection, CapSettlement, CapTradeIn}
	Categories = []Category{CategoryPhone, CategoryTablet, CategoryLaptop, CategoryDesktop,
		CategoryCamera, CategoryWatch, CategoryEarphones, CategoryConsole, CategoryCar}
	Conditions = []Condition{ConditionNew, ConditionLikeNew, ConditionExcellent, // best first
		ConditionGood, ConditionFair, ConditionPoor}
	Codes = []Code{CodeInvalidArgument, CodeUnauthenticated, CodeForbidden, CodeNotFound,
		CodeUnsupported, CodeRateLimited, CodeQuotaExhausted, CodeUnavailable,
		CodeDeadlineExceeded, CodeProviderError, CodeCanceled, CodeConflict}
	FunctionalIssues = []string{IssueScreenBroken, IssueScreenBurnIn, IssueBatteryAged,
		IssueCameraFault, IssueBiometricFault, IssueSpeakerFault, IssueChargingFault,
		IssueSignalFault, IssueButtonsFault, IssueWaterDamage, IssueBootFault,
		IssueAccountLocked, IssueHousingDamaged, IssueTrackpadFault, IssueOther}
)

// The values of the string fields whose vocabulary is fixed, field by field.
const (
	// Manifest.Status.
	StatusStable     = "stable"
	StatusBeta       = "beta"
	StatusDeprecated = "deprecated"

	// Item.FunctionalIssues: the functional issues the host understands. An
	// empty list means the device works fully.
	IssueScreenBroken   = "screen_broken"    // cracked glass or display fault
	IssueScreenBurnIn   = "screen_burn_in"   // burn-in, dead pixels, discolouration
	IssueBatteryAged    = "battery_aged"     // battery health low or swollen
	IssueCameraFault    = "camera_fault"     // a camera does not work
	IssueBiometricFault = "biometric_fault"  // Face ID / Touch ID / fingerprint fails
	IssueSpeakerFault   = "speaker_fault"    // speaker or microphone fails
	IssueChargingFault  = "charging_fault"   // does not charge
	IssueSignalFault    = "signal_fault"     // no cellular signal, Wi-Fi or Bluetooth fault
	IssueButtonsFault   = "buttons_fault"    // buttons or keyboard fail
	IssueWaterDamage    = "water_damage"     // liquid damage
	IssueBootFault      = "boot_fault"       // does not power on
	IssueAccountLocked  = "account_locked"   // activation or account lock still on
	IssueHousingDamaged = "housing_damaged"  // frame bent or back glass broken
	IssueTrackpadFault  = "trackpad_fault"   // trackpad fails (laptops)
	IssueOther          = "other_functional" // another fault; describe it in repair_history

	// Quote.Channels: how a recycled item can reach the provider.
	ChannelMail  = "mail"  // the customer ships it
	ChannelDoor  = "door"  // collected at the door
	ChannelStore = "store" // handed in at a store

	// CatalogItem.Kind and SearchCatalogRequest.Kind: what a catalog entry is.
	KindProduct = "product" // a product on sale (new devices, accessories)
	KindShop    = "shop"    // a seller's shop
	KindModel   = "model"   // a device model a provider prices, with its specs
	KindCarType = "car_type"
	KindCity    = "city"
)
