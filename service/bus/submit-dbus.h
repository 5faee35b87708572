/* Spooler.Submit and Spooler.SubmitData: a message in, durably stored, then
 * the reply (docs/api.md, Spooler). */
#pragma once

#include <systemd/sd-bus.h>

int method_submit(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_submit_data(sd_bus_message *m, void *userdata, sd_bus_error *error);
