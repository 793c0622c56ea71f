/* The evault engine's public interface. */
#ifndef EVAULT_H
#define EVAULT_H

#include "evault/audit.h"
#include "evault/common.h"
#include "evault/device.h"
#include "evault/dossier.h"
#include "evault/file.h"
#include "evault/identity.h"
#include "evault/log.h"
#include "evault/maint.h"
#include "evault/mission.h"
#include "evault/policy.h"
#include "evault/refusal.h"
#include "evault/remote.h"
#include "evault/repo.h"
#include "evault/report.h"
#include "evault/user.h"

#endif
