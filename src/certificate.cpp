// TEMPORARY STUB (replaced by helper's implementation)
#include "nnscape/certificate.hpp"
namespace nnscape {
BallCertificate certify_critical_point(const Network&, const Dataset&, double, std::span<const double>, const CertifyOptions&) { BallCertificate b; b.reason = "stub"; return b; }
std::string_view to_string(CertifiedKind k) { return k == CertifiedKind::none ? "none" : k == CertifiedKind::strict_min ? "strict_min" : "saddle"; }
}
