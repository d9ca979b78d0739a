package fhir

import (
	"net/http"

	"github.com/havencare/haven/auth/smart"
)

// Metadata answers GET /fhir/metadata: a CapabilityStatement that lists
// exactly what this version serves, and how to get a token. It needs no
// token: clients read it to find out how to authenticate.
func (s *Server) Metadata(w http.ResponseWriter, r *http.Request) {
	if !acceptable(w, r) {
		return
	}
	type param struct {
		Name          string `json:"name"`
		Type          string `json:"type"`
		Documentation string `json:"documentation,omitempty"`
	}
	type interaction struct {
		Code string `json:"code"`
	}
	type resource struct {
		Type              string        `json:"type"`
		Profile           string        `json:"profile,omitempty"`
		Interaction       []interaction `json:"interaction"`
		Versioning        string        `json:"versioning"`
		UpdateCreate      bool          `json:"updateCreate"`
		ConditionalCreate bool          `json:"conditionalCreate"`
		SearchParam       []param       `json:"searchParam"`
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-11-29",
		"kind":         "instance",
		"software":     map[string]string{"name": "Haven"},
		"implementation": map[string]string{
			"description": "Haven health and social-care record service",
			"url":         s.origin + "/fhir",
		},
		"fhirVersion": "4.0.1",
		"format":      []string{ContentType},
		"rest": []map[string]any{{
			"mode": "server",
			"security": map[string]any{
				"service": []map[string]any{{
					"coding": []map[string]string{{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}},
				}},
				"description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384); system/ scopes.",
				"extension": []map[string]any{{
					"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
					"extension": []map[string]string{
						{"url": "token", "valueUri": s.origin + smart.TokenPath},
					},
				}},
			},
			"resource": []resource{{
				Type:         "Patient",
				Profile:      "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient",
				Interaction:  []interaction{{"read"}, {"create"}, {"update"}, {"search-type"}},
				Versioning:   "versioned-update",
				UpdateCreate: false,
				SearchParam: []param{
					{"_id", "token", ""},
					{"identifier", "token", "NHS number, system " + NHSNumberSystem},
					{"family", "string", "exact match (case and spacing ignored)"},
					{"birthdate", "date", "exact date"},
					{"phone", "token", "exact number"},
				},
			}},
		}},
	}
	writeResource(w, http.StatusOK, cs)
}
