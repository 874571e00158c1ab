// Where an approval stands, as a plain list (the console bundles it): pending until it is
// granted, rejected, expires, or is closed because its run ended first.
export const approvalStatuses = ['pending', 'granted', 'rejected', 'expired', 'closed'] as const;
export type ApprovalStatus = (typeof approvalStatuses)[number];
